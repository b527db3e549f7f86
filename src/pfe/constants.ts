/** The PFE's fixed figures (JUNOS defaults where JUNOS has them). */
export const ARP_TIMEOUT_MS = 1200_000;      // JUNOS default ARP aging: 20 minutes
export const ARP_RETRY_MS = 1000, ARP_TRIES = 3, ARP_QUEUE = 16;
export const DEFAULT_MTU = 1500;
