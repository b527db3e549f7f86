/**
 * XML for the API: a streaming reader (saxes) that turns a session's byte stream into element trees,
 * one per top-level request, bounded in depth, size and element count; and a small writer.
 * The reader never throws at its caller: malformed or oversized input is reported once, as an error.
 */
import type * as saxesT from 'saxes';
import { lazy } from '../util/lazy.js';

const saxes = lazy<typeof saxesT>('saxes');

export interface El { name: string; attrs: Record<string, string>; children: El[]; text: string }

export const XML_LIMITS = { depth: 64, documentBytes: 4 * 1024 * 1024, elements: 100_000, textBytes: 4 * 1024 * 1024 };

/** the namespace of `<xnm:error>` and `<xnm:warning>` */
export const XNM_NS = 'http://xml.juniper.net/xnm/1.1/xnm';

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** `<name attrs>children</name>`, or `<name/>`; children are already XML */
export function el(name: string, children: string | string[] = '', attrs: Record<string, string | undefined> = {}): string {
  const a = Object.entries(attrs).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${esc(v!)}"`).join('');
  const body = Array.isArray(children) ? children.join('') : children;
  return body === '' ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}
/** `<name>text</name>` with the text escaped */
export const tx = (name: string, text: string | number) => `<${name}>${esc(String(text))}</${name}>`;

export const child = (e: El | undefined, name: string) => e?.children.find(c => local(c.name) === name);
export const children = (e: El | undefined, name: string) => e?.children.filter(c => local(c.name) === name) ?? [];
export const local = (n: string) => n.slice(n.indexOf(':') + 1);
export const textOf = (e: El | undefined): string => (e ? (e.text + e.children.map(textOf).join('')).trim() : '');

/** Serialize an element tree back to XML (the configuration given in an edit). */
export function toXml(e: El): string {
  const a = Object.entries(e.attrs).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
  const inner = esc(e.text) + e.children.map(toXml).join('');
  return inner === '' ? `<${e.name}${a}/>` : `<${e.name}${a}>${inner}</${e.name}>`;
}

/**
 * Reads a stream of XML. `level` is the depth at which complete elements are handed over: 1 for
 * NETCONF (each message is a document: `<rpc>` at depth 1 after the framing is removed), 2 for
 * JUNOScript (the session is one `<junoscript>` document, each `<rpc>` at depth 2).
 */
export class XmlStream {
  private p = new saxes.SaxesParser({ xmlns: false, position: false });
  private stack: El[] = [];
  private bytes = 0;
  private count = 0;
  private failed = false;
  constructor(private level: number, private on: { element(e: El): void; open?(e: El): void; close?(name: string): void; error(why: string): void }) {
    this.p.on('opentag', t => {
      if (this.failed) return;
      if (++this.count > XML_LIMITS.elements) return this.fail(`more than ${XML_LIMITS.elements} elements`);
      if (this.stack.length >= XML_LIMITS.depth) return this.fail(`nested deeper than ${XML_LIMITS.depth}`);
      const e: El = { name: t.name, attrs: Object.fromEntries(Object.entries(t.attributes as Record<string, string>)), children: [], text: '' };
      const parent = this.stack[this.stack.length - 1];
      if (parent && this.stack.length >= this.level) parent.children.push(e);
      this.stack.push(e);
      if (this.stack.length < this.level || this.stack.length === 1 && this.level > 1) this.on.open?.(e);
    });
    this.p.on('text', t => {
      if (this.failed) return;
      const top = this.stack[this.stack.length - 1];
      if (top && this.stack.length >= this.level) {
        if (top.text.length + t.length > XML_LIMITS.textBytes) return this.fail('text too long');
        top.text += t;
      }
    });
    this.p.on('closetag', () => {
      if (this.failed) return;
      const e = this.stack.pop()!;
      if (this.stack.length + 1 === this.level) { this.count = 0; this.on.element(e); }
      else if (this.stack.length + 1 < this.level) this.on.close?.(e.name);
    });
    this.p.on('error', err => this.fail(err.message.split('\n')[0]!));
  }
  private fail(why: string): void {
    if (this.failed) return;
    this.failed = true;
    this.on.error(why);
  }
  get broken(): boolean { return this.failed; }
  write(chunk: string): void {
    if (this.failed) return;
    this.bytes += chunk.length;
    if (this.bytes > XML_LIMITS.documentBytes * (this.level > 1 ? 16 : 1)) return this.fail(`more than ${XML_LIMITS.documentBytes} bytes`);
    try { this.p.write(chunk); } catch (e) { this.fail((e as Error).message.split('\n')[0]!); }
  }
  end(): void { if (!this.failed) { try { this.p.close(); } catch (e) { this.fail((e as Error).message.split('\n')[0]!); } } }
}

/** Parse one whole document (NETCONF messages, tests). */
export function parseDocument(text: string): { ok: true; root: El } | { ok: false; why: string } {
  let root: El | undefined, why: string | undefined;
  const s = new XmlStream(1, { element: e => { root ??= e; }, error: w => { why ??= w; } });
  s.write(text); s.end();
  if (why) return { ok: false, why };
  if (!root) return { ok: false, why: 'no element' };
  return { ok: true, root };
}

/** Indented XML, as JUNOS prints `| display xml` (an element with only text on one line). */
export function prettyXml(xml: string): string {
  const d = parseDocument(xml);
  if (!d.ok) return xml + '\n';
  const out: string[] = [];
  const walk = (e: El, depth: number) => {
    const pad = '    '.repeat(depth);
    const a = Object.entries(e.attrs).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
    if (e.children.length) {
      out.push(`${pad}<${e.name}${a}>`);
      for (const c of e.children) walk(c, depth + 1);
      out.push(`${pad}</${e.name}>`);
    } else if (e.text.trim() === '') out.push(e.name === 'banner' ? `${pad}<banner></banner>` : `${pad}<${e.name}${a}/>`);
    else out.push(`${pad}<${e.name}${a}>${esc(e.text)}</${e.name}>`);
  };
  walk(d.root, 0);
  return out.join('\n') + '\n';
}
