/** Moved to src/mgd/keyfile.ts (mgd reads load-key-file); kept for old import paths. */
export * from '../mgd/keyfile.js';
