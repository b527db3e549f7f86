// The lab page: the topology as a cytoscape graph, live over /ws/lab (docs/web.md). Bundled by
// scripts/bundle.mjs into dist/web/lab.js; nothing is loaded from outside the package.
import cytoscape from 'cytoscape';
import type { LabState, RouterState } from '../poller.js';
import type { RouterSnapshot, TunnelSnap } from '../snapshot.js';
import { el, hex, panelText, wsUrl } from './common.js';
import { captureBox } from './capture.js';
import { traceBox } from './trace.js';

interface LabJson { name: string; nodes: Array<{ name: string; kind: string; router: boolean }>; links: Array<Array<{ node: string; ifname: string }>> }

const app = el('div', { id: 'app' });
const graph = el('div', { id: 'graph' });
const side = el('div', { id: 'side' });
const tunnelsBox = el('div', { id: 'tunnels' });
const panel = el('div', { id: 'panel' });
const tools = el('div', { id: 'tools' });
side.append(el('h2', {}, 'Tunnels'), tunnelsBox, tools, panel);
app.append(graph, side);
document.body.append(app);

let last: LabState | undefined;
let prev: LabState | undefined;
let selected: string | undefined;
const w = window as unknown as { vrouterLab: { cy?: cytoscape.Core; state?: LabState; trace?: ReturnType<typeof traceBox>['api'] } };
w.vrouterLab = {};

const style: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'center', color: '#fff', 'font-size': 11, width: 90, height: 46, shape: 'round-rectangle', 'background-color': '#555' } },
  { selector: 'node.router', style: { 'background-color': '#1f5fa8' } },
  { selector: 'node.router.down', style: { 'background-color': '#a82a1f' } },
  { selector: 'node.router.picdown', style: { 'border-width': 4, 'border-color': '#e0a000' } },
  { selector: 'node.linux', style: { shape: 'ellipse', 'background-color': '#3d7a3d', width: 70 } },
  { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#ffd24d' } },
  { selector: 'edge', style: { width: 3, 'line-color': '#888', 'curve-style': 'bezier', label: 'data(label)', 'font-size': 10, 'text-background-color': '#fff', 'text-background-opacity': 0.8,
    'source-label': 'data(sl)', 'target-label': 'data(tl)', 'source-text-offset': 40, 'target-text-offset': 40, 'text-rotation': 'autorotate' } },
  { selector: 'edge.tunnel', style: { 'text-wrap': 'wrap', 'text-max-width': '260px', 'line-style': 'dashed', 'line-color': '#c0392b', width: 4, 'curve-style': 'unbundled-bezier', 'control-point-distances': [-60], 'control-point-weights': [0.5] } },
  { selector: 'edge.tunnel.up', style: { 'line-color': '#27ae60' } },
  { selector: 'edge.trace', style: { 'line-color': '#8e44ad', width: 3, 'curve-style': 'straight', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#8e44ad', 'z-index': 10, label: '' } },
  { selector: 'edge.link.traced', style: { 'line-color': '#b48ad0', width: 6 } },
  { selector: 'node.stage', style: { shape: 'round-rectangle', width: 58, height: 20, 'font-size': 8, 'background-color': '#8e44ad', color: '#fff', 'text-wrap': 'wrap', 'z-index': 11 } },
  { selector: 'node.stage.pic', style: { 'background-color': '#e0a000', color: '#000' } },
  { selector: 'node.stage.drop', style: { 'background-color': '#c0392b', height: 30, width: 90 } },
  { selector: 'node.traced', style: { 'border-width': 3, 'border-color': '#8e44ad' } },
  { selector: 'node.tracedrop', style: { 'border-width': 5, 'border-color': '#c0392b' } },
];

function linkId(l: LabJson['links'][number]) { return `link:${l[0]!.node}:${l[0]!.ifname}:${l[1]!.node}:${l[1]!.ifname}`; }

async function main(): Promise<void> {
  const lab = await (await fetch('/api/lab')).json() as LabJson;
  document.title = `vrouter lab ${lab.name}`;
  const els: cytoscape.ElementDefinition[] = [];
  for (const n of lab.nodes) els.push({ data: { id: n.name, label: n.name }, classes: n.router ? 'router' : 'linux' });
  for (const l of lab.links) els.push({ data: { id: linkId(l), source: l[0]!.node, target: l[1]!.node, sl: l[0]!.ifname, tl: l[1]!.ifname, label: '' }, classes: 'link' });
  const cy = cytoscape({ container: graph, elements: els, style, layout: { name: 'cose', animate: false, randomize: false, nodeRepulsion: () => 400000, idealEdgeLength: () => 160 } as cytoscape.LayoutOptions, wheelSensitivity: 0.3 });
  w.vrouterLab.cy = cy;
  cy.on('tap', 'node.router', e => { selected = e.target.id(); void showPanel(selected!); });
  const tr = traceBox(lab, cy, linkId);
  w.vrouterLab.trace = tr.api;
  tools.replaceChildren(captureBox(lab, cy, () => last), tr.box);
  const ws = new WebSocket(wsUrl('/ws/lab'));
  ws.onmessage = ev => { prev = last; last = JSON.parse(String(ev.data)) as LabState; w.vrouterLab.state = last; update(cy, lab); };
  ws.onclose = () => { document.body.dataset.live = 'closed'; };
  ws.onopen = () => { document.body.dataset.live = 'open'; };
}

/** packets per second on a router port, from the last two snapshots */
function pps(node: string, ifname: string): number | undefined {
  const a = prev?.routers[node]?.snapshot, b = last?.routers[node]?.snapshot;
  const ia = a?.ifds.find(d => d.name === ifname), ib = b?.ifds.find(d => d.name === ifname);
  if (!a || !b || !ia || !ib || b.time <= a.time) return undefined;
  return Math.max(0, (ib.inPackets + ib.outPackets - ia.inPackets - ia.outPackets) * 1000 / (b.time - a.time));
}

/** the router whose interface has the tunnel's peer address */
function peerRouter(t: TunnelSnap): string | undefined {
  for (const [name, s] of Object.entries(last?.routers ?? {})) if (s.snapshot?.ifds.some(d => d.addresses.some(a => a.split('/')[0] === t.peer))) return name;
  return undefined;
}

function tunnelLine(r: string, t: TunnelSnap, s: RouterSnapshot): string {
  const ike = s.ike.filter(k => k.peer === t.peer);
  const ikeText = ike.length ? ike.map(k => `${k.state}${k.matured ? '' : ' (negotiating)'}`).join(', ') : 'none';
  const sas = t.sas.map(a => `${a.direction === 'inbound' ? '<' : '>'} ${a.protocol} ${hex(a.spi)} ${a.packets} pkts${a.drops ? `, ${a.drops} drops` : ''}`).join('; ') || 'no SAs';
  return `${r} ${t.ifl} (${t.sa}) ${t.local} -> ${t.peer}: ${t.up ? 'up' : 'down'}; IKE ${ikeText}; ${sas}`;
}

/** the diagnosis verdict of a tunnel that is down (or troubled): its findings other than `ok` */
function verdictOf(t: TunnelSnap): string | undefined {
  const v = (t.verdicts ?? []).filter(x => x.id !== 'ok');
  return v.length ? v.map(x => `${x.id}: ${x.text}`).join(' | ') : t.up ? undefined : 'no problem found';
}

function update(cy: cytoscape.Core, lab: LabJson): void {
  const st = last!;
  for (const n of lab.nodes.filter(x => x.router)) {
    const s: RouterState | undefined = st.routers[n.name];
    const node = cy.getElementById(n.name);
    node.toggleClass('down', !s?.up);
    node.toggleClass('picdown', !!s?.up && !s.snapshot?.pic?.up);
    const snap = s?.snapshot;
    node.data('label', `${n.name}\n${snap ? snap.model : 'down'}${snap ? snap.pic?.up ? ' · ES up' : ' · ES down' : ''}`);
  }
  for (const l of lab.links) {
    const e = cy.getElementById(linkId(l));
    const r = l.map(x => pps(x.node, x.ifname)).find(x => x !== undefined);
    e.data('label', r === undefined ? '' : `${r.toFixed(1)} pps`);
  }
  tunnelsBox.replaceChildren();
  const seen = new Set<string>();
  for (const [r, s] of Object.entries(st.routers)) {
    for (const t of s.snapshot?.tunnels ?? []) {
      const peer = peerRouter(t);
      const verdict = verdictOf(t);
      const li = el('div', { class: `tunnel ${t.up ? 'up' : 'down'}`, 'data-router': r, 'data-ifl': t.ifl, 'data-state': t.up ? 'up' : 'down', 'data-verdict': (t.verdicts ?? []).map(v => v.id).join(' ') }, tunnelLine(r, t, s.snapshot!));
      if (verdict) li.append(el('div', { class: 'verdict' }, `diagnosis: ${verdict}`));
      tunnelsBox.append(li);
      if (!peer) continue;
      const id = `tunnel:${[r, peer].sort().join(':')}:${t.sa}`;
      const short = (t.verdicts ?? []).filter(v => v.id !== 'ok').map(v => v.id).join(', ');
      if (seen.has(id)) {
        const e = cy.getElementById(id);
        if (!t.up) { e.removeClass('up'); if (short && !String(e.data('label')).includes(short)) e.data('label', `${e.data('label')}\n${r}: ${short}`); }
        continue;
      }
      seen.add(id);
      let e = cy.getElementById(id);
      if (e.empty()) e = cy.add({ data: { id, source: r, target: peer, label: '', sl: '', tl: '' }, classes: 'tunnel' });
      e.toggleClass('up', t.up);
      const out = t.sas.find(a => a.direction === 'outbound');
      e.data('label', `${t.ifl} ${t.up ? 'up' : 'down'}${out ? ` SPI ${hex(out.spi)}` : ''}${!t.up && short ? `\n${r}: ${short}` : ''}`);
    }
  }
  cy.edges('.tunnel').forEach(e => { if (!seen.has(e.id())) e.remove(); });
  if (selected) renderPanelState(selected);
}

const panelTexts: Record<string, string> = {};
function renderPanelState(r: string): void {
  const s = last?.routers[r];
  const state = panel.querySelector('#panel-state');
  if (!state) return;
  const snap = s?.snapshot;
  state.textContent = !snap ? `${r}: not answering (${s?.error ?? 'no state yet'})` : [
    `${r} (${snap.model}), PICs ${snap.pics.map(p => `${p.slot} ${p.type}`).join(', ')}; ES PIC ${snap.pic?.up ? 'up' : 'down'}${snap.pic ? `, ${snap.pic.encrypted} encrypted, ${snap.pic.decrypted} decrypted, ${snap.pic.drops} drops, ${snap.pic.restarts} restarts` : ''}`,
    ...snap.ifds.map(d => `  ${d.name.padEnd(12)} ${d.up ? 'up  ' : 'down'} in ${d.inPackets} out ${d.outPackets} drops ${d.drops} ${d.addresses.join(' ')}`),
    ...snap.tunnels.flatMap(t => [`  ${tunnelLine(r, t, snap)}`, ...(t.verdicts ?? []).map(v => `    diagnosis ${v.id}: ${v.text}`)]),
    ...snap.ike.map(k => `  IKE ${k.local} <-> ${k.peer} ${k.mode} ${k.role} ${k.state}`),
  ].join('\n');
}

async function showPanel(r: string): Promise<void> {
  panel.replaceChildren(
    el('h2', {}, r),
    el('a', { href: `/cli/${encodeURIComponent(r)}`, target: '_blank', id: 'open-cli' }, `CLI of ${r}`),
    el('pre', { id: 'panel-state' }),
  );
  renderPanelState(r);
  const pre = el('pre', { id: 'panel-kmd' }, '...');
  panel.append(el('h3', {}, 'kmd log (last lines)'), pre);
  const load = () => void panelText(r, 'kmd').then(t => { panelTexts[`${r}:kmd`] = t; pre.textContent = t; });
  load();
  panel.append(el('button', { id: 'panel-kmd-reload' }, 'reload the kmd log'));
  panel.querySelector('#panel-kmd-reload')!.addEventListener('click', load);
}

void main();
