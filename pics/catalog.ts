/** The PIC catalogue: what each PIC type is, how many ports it has and how its interfaces are named. */
export type PicType = 'fe' | 'es';
export interface PicSpec {
  type: PicType;
  description: string;   // as `show chassis hardware` names it
  ports: number;
  ifPrefix: 'fe' | 'es';
  partNumber: string;
}
export const PIC_CATALOG: Record<string, PicSpec> = {
  '4x-fe': { type: 'fe', description: '4x F/E, 100 BASE-TX', ports: 4, ifPrefix: 'fe', partNumber: '750-002303' },
  'es': { type: 'es', description: '1x ES, ENCRYPTION SERVICES', ports: 1, ifPrefix: 'es', partNumber: '750-003378' },
};
export function picSpec(name: string): PicSpec | undefined { return PIC_CATALOG[name]; }
