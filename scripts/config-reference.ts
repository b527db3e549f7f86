/** Rewrite the statement list of docs/configuration.md from the schema: `npx tsx scripts/config-reference.ts`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statementReference } from '../src/config/reference.js';

const file = join(import.meta.dirname, '../docs/configuration.md');
const doc = readFileSync(file, 'utf8');
const begin = '<!-- statements:begin -->\n', end = '<!-- statements:end -->';
const a = doc.indexOf(begin) + begin.length, b = doc.indexOf(end);
writeFileSync(file, doc.slice(0, a) + statementReference() + doc.slice(b));
