/**
 * A router's hardware: a chassis model with PICs placed in FPC/PIC slots. Interfaces exist only
 * where a PIC is installed; the commit check reads this through ChassisView.
 */
import { MODELS, ChassisModel, ModelName, modelByName } from './models.js';
import { PIC_CATALOG, PicSpec } from '../pics/catalog.js';
import type { ChassisView } from '../src/config/check.js';

export interface PicPlacement { fpc: number; pic: number; type: string }
export interface InstalledPic { fpc: number; pic: number; spec: PicSpec; catalogName: string; state: 'Online' }

/** The default placement: FPC 0 PIC 0 a 4-port FE PIC, FPC 0 PIC 1 an ES PIC (Figure 11). */
export const DEFAULT_PICS: PicPlacement[] = [{ fpc: 0, pic: 0, type: '4x-fe' }, { fpc: 0, pic: 1, type: 'es' }];

export class Chassis implements ChassisView {
  readonly pics: InstalledPic[];
  readonly def: ChassisModel;
  constructor(model: ModelName | string = 'm10', placement: PicPlacement[] = DEFAULT_PICS) {
    const def = modelByName(model);
    if (!def) throw new Error(`unknown chassis model '${model}' (expected one of ${Object.keys(MODELS).join(', ')})`);
    this.def = def;
    this.pics = [];
    for (const p of placement) {
      const spec = PIC_CATALOG[p.type];
      if (!spec) throw new Error(`unknown PIC type '${p.type}' (expected one of ${Object.keys(PIC_CATALOG).join(', ')})`);
      if (!def.fpcs.includes(p.fpc)) throw new Error(`${def.display} has no FPC ${p.fpc}`);
      if (p.pic < 0 || p.pic >= def.picsPerFpc) throw new Error(`FPC ${p.fpc} has no PIC slot ${p.pic}`);
      if (this.pics.some(x => x.fpc === p.fpc && x.pic === p.pic)) throw new Error(`FPC ${p.fpc} PIC ${p.pic} is already occupied`);
      this.pics.push({ fpc: p.fpc, pic: p.pic, spec, catalogName: p.type, state: 'Online' });
    }
  }
  get model(): string { return this.def.display; }
  pic(fpc: number, pic: number): InstalledPic | undefined { return this.pics.find(p => p.fpc === fpc && p.pic === pic); }
  picType(fpc: number, pic: number) { return this.pic(fpc, pic)?.spec.type; }
  portCount(fpc: number, pic: number) { return this.pic(fpc, pic)?.spec.ports ?? 0; }
  /** Every physical interface the installed PICs create. */
  interfaceNames(): string[] {
    const out: string[] = [];
    for (const p of [...this.pics].sort((a, b) => a.fpc - b.fpc || a.pic - b.pic)) {
      for (let i = 0; i < p.spec.ports; i++) out.push(`${p.spec.ifPrefix}-${p.fpc}/${p.pic}/${i}`);
    }
    return out;
  }
  /** What `show chassis hardware` and `show chassis fpc pic-status` call an FPC of this model. */
  get fpcDescription(): string { return `${this.def.display} FPC`; }
  esPics(): InstalledPic[] { return this.pics.filter(p => p.spec.type === 'es'); }
  /** Data for `show chassis hardware`. */
  hardware(): Array<{ item: string; version: string; part: string; serial: string; description: string }> {
    const rows = [{ item: 'Chassis', version: '', part: '', serial: serial('chassis'), description: this.def.display }];
    const fpcs = [...new Set(this.pics.map(p => p.fpc))].sort((a, b) => a - b);
    for (const f of this.def.fpcs) {
      if (!fpcs.includes(f) && this.def.name !== 'm5') continue;
      rows.push({ item: `FPC ${f}`, version: 'REV 01', part: '710-001234', serial: serial(`fpc${f}`), description: this.fpcDescription });
      for (const p of this.pics.filter(x => x.fpc === f).sort((a, b) => a.pic - b.pic)) {
        rows.push({ item: `  PIC ${p.pic}`, version: 'REV 04', part: p.spec.partNumber, serial: serial(`pic${f}/${p.pic}`), description: p.spec.description });
      }
    }
    return rows;
  }
}

function serial(seed: string): string {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return 'VR' + h.toString(16).toUpperCase().padStart(8, '0').slice(0, 6);
}
