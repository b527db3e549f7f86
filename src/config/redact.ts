/**
 * What a login class without the `secret` permission sees of a configuration (issue 21 item 5):
 * JUNOS shows such a user `/* SECRET-DATA *\/` where the secret was, in every form a configuration
 * is shown (brace form `encrypted-password /* SECRET-DATA *\/; ## SECRET-DATA`, set form, XML
 * `<encrypted-password>/* SECRET-DATA *\/</encrypted-password>`, `| compare`). This works on the
 * rendered text, so that one call at the point a reply leaves the router covers every renderer
 * (text, set, XML, also XML-escaped inside `<configuration-text>` or `<output>`):
 *   - a line ending in `## SECRET-DATA` (the marker display.ts puts on every secret leaf): its value;
 *   - any `$9$` string (reversible) and any crypt(3) hash (`$1$`, `$5$`, `$6$`, `$2a$`...);
 *   - the contents of `<encrypted-password>` and `<certificate-key-string>`;
 *   - any PEM private key block (also with `\n` escapes, as a quoted string shows it), unterminated
 *     ones to the end of the text (fails closed).
 * Linear in the text: indexOf scans and regular expressions without nested quantifiers.
 */
export const SECRET_SHOWN = '/* SECRET-DATA */';
const MARK = ' ## SECRET-DATA';

/** JUNOS's predefined classes: only super-user (permissions all) has `secret`. */
export function maySeeSecrets(cls: string): boolean { return cls === 'super-user'; }

/** The text as a class without the `secret` permission may see it. */
export function redactSecrets(text: string): string {
  let s = dropPrivateKeys(text);
  s = s.replace(/<(encrypted-password|certificate-key-string)>[^<]*<\/\1>/g, `<$1>${SECRET_SHOWN}</$1>`);
  if (s.includes(MARK)) s = s.split('\n').map(redactMarkedLine).join('\n');
  // quoted (plain or XML-escaped) or bare: $9$ strings and crypt(3) hashes
  s = s.replace(/(?:"|&quot;)?\$9\$[A-Za-z0-9./-]*(?:"|&quot;)?/g, SECRET_SHOWN);
  s = s.replace(/(?:"|&quot;)?\$(?:1|5|6|2[abxy]?)\$[A-Za-z0-9./$=,]+(?:"|&quot;)?/g, SECRET_SHOWN);
  return s;
}

/** `... keyword [kind] VALUE; ## SECRET-DATA` (or the set form, no `;`): the last token replaced. */
function redactMarkedLine(line: string): string {
  if (!line.endsWith(MARK)) return line;
  let body = line.slice(0, -MARK.length);
  const semi = body.endsWith(';') ? ';' : '';
  if (semi) body = body.slice(0, -1);
  const start = lastTokenStart(body);
  if (start < 0) return line;
  return `${body.slice(0, start)}${SECRET_SHOWN}${semi}${MARK}`;
}

/** Where the last word of a line starts: words are bare, or quoted by `"` or `&quot;` with `\` escapes. */
function lastTokenStart(s: string): number {
  let i = 0, last = -1;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') { i++; continue; }
    last = i;
    const q = s.startsWith('&quot;', i) ? '&quot;' : s[i] === '"' ? '"' : '';
    if (q) {
      i += q.length;
      while (i < s.length && !s.startsWith(q, i)) i += s[i] === '\\' ? 2 : 1;
      i += q.length;
    } else while (i < s.length && s[i] !== ' ' && s[i] !== '\t') i++;
  }
  return last;
}

/** PEM private key blocks (`-----BEGIN ... PRIVATE KEY-----` to its END line) replaced. */
export function dropPrivateKeys(text: string): string {
  let out = '', from = 0;
  for (;;) {
    const b = findPrivateBegin(text, from);
    if (b < 0) break;
    out += text.slice(from, b) + SECRET_SHOWN;
    const e = findPrivateEnd(text, b);
    if (e < 0) return out;
    from = e;
  }
  return from === 0 ? text : out + text.slice(from);
}
/** Does the text hold a PEM private key block? */
export function holdsPrivateKey(text: string): boolean { return findPrivateBegin(text, 0) >= 0; }

function findPrivateBegin(t: string, from: number): number {
  for (let i = t.indexOf('-----BEGIN ', from); i >= 0; i = t.indexOf('-----BEGIN ', i + 1)) {
    const close = t.indexOf('-----', i + 11);
    if (close >= 0 && close - i < 80 && t.slice(i + 11, close).endsWith('PRIVATE KEY')) return i;
  }
  return -1;
}
function findPrivateEnd(t: string, from: number): number {
  for (let i = t.indexOf('-----END ', from); i >= 0; i = t.indexOf('-----END ', i + 1)) {
    const close = t.indexOf('-----', i + 9);
    if (close >= 0 && close - i < 80 && t.slice(i + 9, close).endsWith('PRIVATE KEY')) return close + 5;
  }
  return -1;
}
