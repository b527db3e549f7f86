/** Record operations on the rings between the PFE and an ES PIC worker (see ring.ts). */
export const OP_ENCRYPT = 0, OP_DECRYPT = 1, OP_OUTER = 2, OP_INNER = 3;
/**
 * A change of SA state (configure, install, remove: v8-serialized) on the ring into the worker, so it
 * takes effect exactly between the packets queued before it and those queued after.
 */
export const OP_CONTROL = 4;
