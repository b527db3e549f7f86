/** Moved to src/mgd/config-xml.ts; kept for old import paths. */
export * from '../mgd/config-xml.js';
