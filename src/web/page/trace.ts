// The page's packet trace (docs/web.md): the next N packets matching a source and destination on every
// router at once over /ws/trace; each packet's walk (src/web/tracepath.ts) drawn on the map: the host it
// came from, each router's PFE stages and ES PIC as small nodes beside the router, the links it
// crossed, the host it reached, or the stage that dropped it with the reason.
import type cytoscape from 'cytoscape';
import type { TraceRecord } from '../tracer.js';
import { tracePath, traceKeys, TracePart, TracePath, Links } from '../tracepath.js';
import { el, wsUrl } from './common.js';

interface LabJson { nodes: Array<{ name: string; router: boolean }>; links: Links }
const MAX_PARTS = 2000;

function undrawTrace(cy: cytoscape.Core): void { cy.remove(cy.nodes('.stage')); cy.remove(cy.edges('.trace')); cy.nodes().removeClass('traced tracedrop'); cy.edges('.link').removeClass('traced'); }

/** Draw one packet's walk: stage nodes in a row under each router, edges between the walk's steps. */
function drawTrace(cy: cytoscape.Core, links: Links, linkId: (l: Links[number]) => string, p: TracePath): void {
  undrawTrace(cy);
  const ids: string[] = [];
  const perRouter = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const s of p.steps) if (s.stage) counts.set(s.at, (counts.get(s.at) ?? 0) + 1);
  p.steps.forEach((s, i) => {
    if (!s.stage) { ids.push(s.at); cy.getElementById(s.at).addClass('traced'); return; }
    const k = perRouter.get(s.at) ?? 0;
    perRouter.set(s.at, k + 1);
    const r = cy.getElementById(s.at), pos = r.position(), n = counts.get(s.at)!;
    const id = `stage:${i}`;
    cy.add({ group: 'nodes', data: { id, label: s.drop ? `${s.stage}\ndrop: ${s.drop}` : s.stage, router: s.at, text: s.text ?? '' }, classes: `stage${s.pic ? ' pic' : ''}${s.drop ? ' drop' : ''}`,
      position: { x: pos.x + (k - (n - 1) / 2) * 64, y: pos.y + 62 + (k % 2) * 26 } });
    ids.push(id);
    if (s.drop) r.addClass('tracedrop'); else r.addClass('traced');
  });
  for (let i = 1; i < ids.length; i++) {
    cy.add({ group: 'edges', data: { id: `trace:${i}`, source: ids[i - 1]!, target: ids[i]!, label: '' }, classes: 'trace' });
    const a = p.steps[i - 1]!.at, b = p.steps[i]!.at;
    if (a !== b) for (const l of links) if (l.some(e => e.node === a) && l.some(e => e.node === b)) cy.getElementById(linkId(l)).addClass('traced');
  }
}

/** One traced packet in the list: what became of it, each router's stages. */
function packetItem(p: TracePath, selected: boolean, onClick: () => void): HTMLElement {
  const routers = [...new Set(p.steps.filter(s => s.stage).map(s => s.at))];
  const item = el('div', { class: `tr-packet${p.drop ? ' drop' : ''}${selected ? ' selected' : ''}`, 'data-key': p.key, 'data-path': p.steps.map(s => s.at).filter((x, i, a) => a[i - 1] !== x).join(' '), ...(p.drop ? { 'data-drop': `${p.drop.router} ${p.drop.stage} ${p.drop.reason}` } : {}) });
  item.append(el('div', { class: 'tr-key' }, `${p.key}: ${p.drop ? `dropped by ${p.drop.router} in ${p.drop.stage}: ${p.drop.reason}` : p.reached ? `reached ${p.reached}` : `through ${routers.join(', ')}`}`));
  for (const r of routers) item.append(el('div', { class: 'tr-stages' }, `${r}: ${p.steps.filter(s => s.at === r && s.stage).map(s => s.drop ? `${s.stage} [DROP ${s.drop}]` : s.stage).join(' → ')}`));
  item.addEventListener('click', onClick);
  return item;
}

export function traceBox(lab: LabJson, cy: cytoscape.Core, linkId: (l: Links[number]) => string): { box: HTMLElement; api: { parts: TracePart[]; paths: () => TracePath[]; show: (key: string) => void } } {
  const box = el('div', { id: 'trace' });
  const src = el('input', { id: 'tr-src', placeholder: 'source', size: '12', value: '' });
  const dst = el('input', { id: 'tr-dst', placeholder: 'destination', size: '12', value: '' });
  const count = el('input', { id: 'tr-count', type: 'number', min: '1', max: '100', value: '4', size: '4' });
  const both = el('input', { id: 'tr-both', type: 'checkbox', checked: '' });
  const start = el('button', { id: 'tr-start' }, 'Trace');
  const stop = el('button', { id: 'tr-stop', disabled: '' }, 'Stop');
  const clear = el('button', { id: 'tr-clear' }, 'Clear the map');
  const status = el('div', { id: 'tr-status' }, 'trace the next packets from a source to a destination');
  const list = el('div', { id: 'tr-list' });
  const bothLabel = el('label', {}, ' both ways ');
  bothLabel.prepend(both);
  box.append(el('h2', {}, 'Packet trace'), src, dst, count, bothLabel, start, stop, clear, status, list);

  const parts: TracePart[] = [];
  let ws: WebSocket | undefined, selected: string | undefined;
  const paths = () => traceKeys(parts).map(k => tracePath(k, parts, lab.links));

  const undraw = () => undrawTrace(cy);
  const draw = (p: TracePath) => { drawTrace(cy, lab.links, linkId, p); box.dataset.drawn = p.key; };
  const render = () => {
    const all = paths();
    list.replaceChildren();
    for (const p of all) list.append(packetItem(p, p.key === selected, () => api.show(p.key)));
    const cur = all.find(p => p.key === selected) ?? all.at(-1);
    if (cur && (!selected || cur.key === selected)) draw(cur);
  };
  const api = { parts, paths, show: (key: string) => { selected = key; render(); } };

  start.addEventListener('click', () => {
    parts.length = 0; selected = undefined; undraw(); list.replaceChildren();
    ws?.close();
    ws = new WebSocket(wsUrl('/ws/trace'));
    box.dataset.state = 'starting';
    const spec = { ...(src.value.trim() ? { src: src.value.trim() } : {}), ...(dst.value.trim() ? { dst: dst.value.trim() } : {}), count: Number(count.value) || 4, both: both.checked };
    ws.onopen = () => ws!.send(JSON.stringify({ start: spec }));
    const tracing = new Set<string>();
    ws.onmessage = ev => {
      const m = JSON.parse(String(ev.data)) as { router?: string; tracing?: boolean; trace?: TraceRecord; done?: boolean; error?: string; reason?: string };
      if (m.router && m.tracing) {
        tracing.add(m.router);
        box.dataset.state = 'running'; start.disabled = true; stop.disabled = false;
        status.textContent = `tracing the next ${spec.count} packets ${spec.src ?? 'any'} → ${spec.dst ?? 'any'}${spec.both ? ' (both ways)' : ''} on ${[...tracing].join(', ')}`;
      } else if (m.router && m.trace) {
        if (parts.length < MAX_PARTS) parts.push({ router: m.router, trace: m.trace });
        render();
      } else if (m.done && !m.router) {
        box.dataset.state = 'done'; start.disabled = false; stop.disabled = true;
        status.textContent = `${paths().length} packets traced`;
        ws?.close();
      } else if (m.router && m.done && m.error) {
        status.textContent += `; ${m.router}: ${m.error}`;
      } else if (m.error && !m.router) {
        box.dataset.state = 'error'; status.textContent = `error: ${m.error}`;
      }
    };
  });
  stop.addEventListener('click', () => ws?.send(JSON.stringify({ stop: true })));
  clear.addEventListener('click', () => { selected = undefined; undraw(); });
  return { box, api };
}
