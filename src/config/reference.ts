/** The statement reference of docs/configuration.md, generated from the schema so it cannot drift. */
import { ROOT, Def, describeType } from './schema.js';

export function statementReference(): string {
  const out: string[] = [];
  const walk = (def: Def, path: string[], depth: number) => {
    for (const [kw, d] of Object.entries(def.children ?? {})) {
      const name = kw === '*' ? describeType(d.keyType!) : kw;
      let syntax = name;
      if (d.kind === 'list' && kw !== '*') syntax += ` ${describeType(d.keyType!)}`;
      if (d.kind === 'leaf' || d.kind === 'leafList') syntax += ` ${describeType(d.type!)}`;
      if (d.kind === 'leafList') syntax += ' (or [ list ])';
      const notes: string[] = [];
      const t = d.kind === 'list' ? d.keyType : d.type;
      if (t?.t === 'uint') notes.push(t.oneOf ? `one of ${t.oneOf.join(', ')}` : `range ${t.min}..${t.max}`);
      if (d.dflt) notes.push(`default ${d.dflt}`);
      if (d.secret) notes.push('shown as $9$ with ## SECRET-DATA');
      out.push(`${'  '.repeat(depth)}- \`${syntax}\`: ${d.help}${notes.length ? ` (${notes.join('; ')})` : ''}`);
      if (d.children) walk(d, [...path, name], depth + 1);
    }
  };
  walk(ROOT, [], 0);
  return out.join('\n') + '\n';
}
