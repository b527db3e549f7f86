// The page's capture box (docs/web.md): a router port or a link's router end, N packets or N seconds,
// a live list with a one-line decode per packet over /ws/capture, and the pcap to download at the end.
import type cytoscape from 'cytoscape';
import type { LabState } from '../poller.js';
import { el, wsUrl } from './common.js';

interface LabJson { nodes: Array<{ name: string; router: boolean }>; links: Array<Array<{ node: string; ifname: string }>> }
/** the live list keeps the last this many lines (the pcap has them all) */
const LIST_MAX = 500;

export function captureBox(lab: LabJson, cy: cytoscape.Core, state: () => LabState | undefined): HTMLElement {
  const routers = new Set(lab.nodes.filter(n => n.router).map(n => n.name));
  const box = el('div', { id: 'capture' });
  const port = el('select', { id: 'cap-port' });
  const count = el('input', { id: 'cap-count', type: 'number', min: '1', placeholder: 'packets', size: '6' });
  const secs = el('input', { id: 'cap-seconds', type: 'number', min: '1', placeholder: 'seconds', size: '6' });
  const start = el('button', { id: 'cap-start' }, 'Capture');
  const stop = el('button', { id: 'cap-stop', disabled: '' }, 'Stop');
  const status = el('div', { id: 'cap-status' }, 'choose a port or click a link');
  const dl = el('a', { id: 'cap-download', hidden: '' }, 'download pcap');
  const list = el('ol', { id: 'cap-list' });
  box.append(el('h2', {}, 'Capture'), port, count, secs, start, stop, status, dl, list);

  const options = new Map<string, string>();
  const addOption = (node: string, ifname: string, text: string) => {
    const v = `${node}:${ifname}`;
    if (options.has(v)) return;
    options.set(v, text);
    port.append(el('option', { value: v }, text));
  };
  for (const l of lab.links) for (const e of l) if (routers.has(e.node)) {
    const other = l.find(x => x !== e)!;
    addOption(e.node, e.ifname, `${e.node} ${e.ifname} (link to ${other.node} ${other.ifname})`);
  }
  // es- interfaces (no link: the ES PIC's side of the tunnel) as the routers report them
  const addEs = () => { for (const [r, s] of Object.entries(state()?.routers ?? {})) for (const d of s.snapshot?.ifds ?? []) if (d.name.startsWith('es-')) addOption(r, d.name, `${r} ${d.name} (ES PIC: the tunnel's clear side)`); };
  const esTimer = setInterval(() => { addEs(); if (options.size > lab.links.length * 2 - 2) clearInterval(esTimer); }, 1000);
  cy.on('tap', 'edge.link', e => {
    const src = e.target.source().id() as string, sl = e.target.data('sl') as string, dst = e.target.target().id() as string, tl = e.target.data('tl') as string;
    const pick = routers.has(src) ? `${src}:${sl}` : `${dst}:${tl}`;
    port.value = pick;
    status.textContent = `port ${pick.replace(':', ' ')} chosen`;
  });

  let ws: WebSocket | undefined;
  start.addEventListener('click', () => {
    const [node, ifname] = port.value.split(/:(.*)/s) as [string, string];
    const n = count.value ? Number(count.value) : undefined, s = secs.value ? Number(secs.value) : undefined;
    list.replaceChildren(); dl.hidden = true;
    ws?.close();
    ws = new WebSocket(wsUrl('/ws/capture'));
    box.dataset.state = 'starting';
    ws.onopen = () => ws!.send(JSON.stringify({ start: { node, ifname, ...(n ? { count: n } : {}), ...(s ? { seconds: s } : {}) } }));
    ws.onmessage = ev => {
      const m = JSON.parse(String(ev.data)) as Record<string, unknown>;
      if (m.started) {
        box.dataset.state = 'running';
        start.disabled = true; stop.disabled = false;
        status.textContent = `capturing on ${node} ${ifname}${n ? `, ${n} packets` : ''}${m.seconds ? `, ${m.seconds} s` : ''}`;
      } else if (typeof m.n === 'number') {
        const li = el('li', { 'data-proto': String(m.proto), ...(m.spi !== undefined ? { 'data-spi': String(m.spi) } : {}) }, `${new Date(Number(m.t)).toISOString().slice(11, 23)} ${String(m.line)}`);
        list.append(li);
        if (list.childElementCount > LIST_MAX) list.firstElementChild!.remove();
        status.textContent = `capturing on ${node} ${ifname}: ${m.n} packets`;
      } else if (m.done) {
        box.dataset.state = 'done';
        start.disabled = false; stop.disabled = true;
        status.textContent = `${m.packets} packets captured on ${node} ${ifname} (${m.reason})${m.error ? `: ${m.error}` : ''}${Number(m.dropped) ? `; ${m.dropped} dropped by the router` : ''}${Number(m.unsent) ? `; ${m.unsent} not listed here (the page read too slowly; the pcap has them)` : ''}`;
        if (typeof m.id === 'string') {
          dl.href = `/api/capture/${encodeURIComponent(m.id)}`;
          dl.setAttribute('download', `${node}-${ifname.replace(/[/.]/g, '_')}.pcap`);
          dl.hidden = false;
        }
        ws?.close();
      } else if (typeof m.error === 'string') {
        box.dataset.state = 'error';
        status.textContent = `error: ${m.error}`;
        start.disabled = false; stop.disabled = true;
      }
    };
    ws.onclose = () => { if (box.dataset.state === 'running') { status.textContent += ' (connection closed)'; start.disabled = false; stop.disabled = true; } };
  });
  stop.addEventListener('click', () => ws?.send(JSON.stringify({ stop: true })));
  return box;
}
