/** M-series chassis models: which FPC slots exist and how many PIC slots each FPC has. */
export type ModelName = 'm5' | 'm10' | 'm20' | 'm40';
export interface ChassisModel { name: ModelName; display: string; fpcs: number[]; picsPerFpc: number }
export const MODELS: Record<ModelName, ChassisModel> = {
  m5: { name: 'm5', display: 'M5', fpcs: [0], picsPerFpc: 4 },
  m10: { name: 'm10', display: 'M10', fpcs: [0, 1], picsPerFpc: 4 },
  m20: { name: 'm20', display: 'M20', fpcs: [0, 1, 2, 3], picsPerFpc: 4 },
  m40: { name: 'm40', display: 'M40', fpcs: [0, 1, 2, 3, 4, 5, 6, 7], picsPerFpc: 4 },
};
export function modelByName(s: string): ChassisModel | undefined {
  return MODELS[s.toLowerCase().replace(/^juniper_/, '') as ModelName];
}
