/** Record operations on the rings between the PFE and an ES PIC worker (see ring.ts). */
export const OP_ENCRYPT = 0, OP_DECRYPT = 1, OP_OUTER = 2, OP_INNER = 3;
