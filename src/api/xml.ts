/** Moved to src/mgd/xml.ts (the CLI's | display xml and the API share it); kept for old import paths. */
export * from '../mgd/xml.js';
