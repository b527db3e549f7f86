import { describe, it, expect } from 'vitest';
import { Chassis, DEFAULT_PICS } from './chassis.js';
import { MODELS } from './models.js';

describe('chassis', () => {
  it('has the M-series FPC counts', () => {
    expect(MODELS.m5.fpcs).toEqual([0]);
    expect(MODELS.m10.fpcs).toEqual([0, 1]);
    expect(MODELS.m20.fpcs).toHaveLength(4);
    expect(MODELS.m40.fpcs).toHaveLength(8);
  });
  it('defaults to a 4-port FE PIC in FPC 0 PIC 0 and an ES PIC in FPC 0 PIC 1 (Figure 11)', () => {
    const c = new Chassis('m10');
    expect(c.interfaceNames()).toEqual(['fe-0/0/0', 'fe-0/0/1', 'fe-0/0/2', 'fe-0/0/3', 'es-0/1/0']);
    expect(c.picType(0, 1)).toBe('es');
    expect(c.picType(1, 0)).toBeUndefined();
    expect(DEFAULT_PICS).toHaveLength(2);
  });
  it('places PICs where the model has slots, and refuses the rest', () => {
    const c = new Chassis('m20', [{ fpc: 0, pic: 0, type: '4x-fe' }, { fpc: 0, pic: 1, type: 'es' }, { fpc: 3, pic: 3, type: 'es' }]);
    expect(c.esPics().map(p => `${p.fpc}/${p.pic}`)).toEqual(['0/1', '3/3']);
    expect(() => new Chassis('m5', [{ fpc: 1, pic: 0, type: 'es' }])).toThrow(/M5 has no FPC 1/);
    expect(() => new Chassis('m10', [{ fpc: 0, pic: 4, type: 'es' }])).toThrow(/no PIC slot 4/);
    expect(() => new Chassis('m10', [{ fpc: 0, pic: 0, type: 'es' }, { fpc: 0, pic: 0, type: '4x-fe' }])).toThrow(/already occupied/);
    expect(() => new Chassis('m10', [{ fpc: 0, pic: 0, type: 'oc3' }])).toThrow(/unknown PIC type 'oc3'/);
    expect(() => new Chassis('m7')).toThrow(/unknown chassis model/);
  });
  it('describes its hardware for show chassis hardware', () => {
    const rows = new Chassis('m10').hardware();
    expect(rows[0]).toMatchObject({ item: 'Chassis', description: 'M10' });
    expect(rows.map(r => r.item.trim())).toEqual(['Chassis', 'FPC 0', 'PIC 0', 'PIC 1']);
    expect(rows[3]!.description).toBe('1x ES, ENCRYPTION SERVICES');
    expect(new Chassis('m10').hardware()).toEqual(rows);   // serial numbers are stable
  });
});
