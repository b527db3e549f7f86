/** Moved to src/mgd/commitdb.ts (mgd owns the configuration database); kept for old import paths. */
export * from '../mgd/commitdb.js';
