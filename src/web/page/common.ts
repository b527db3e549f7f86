// Small helpers shared by the pages.
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
export const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
/** the websocket URL of a path on this server (the token rides in the page's cookie) */
export function wsUrl(path: string): string { return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`; }
export async function panelText(node: string, what: string): Promise<string> {
  const r = await fetch(`/api/node/${encodeURIComponent(node)}/${what}`);
  const j = await r.json() as { out?: string; error?: string };
  return j.error ? `error: ${j.error}` : j.out ?? '';
}
