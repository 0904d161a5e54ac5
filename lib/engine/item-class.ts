/**
 * lmcached has no slab allocator: memcached's commands and stats that name slab classes see
 * its resident table as one class, 1 (README says so).
 */
export const ONLY_CLASS = 1;
/** memcached's MAX_NUMBER_OF_SLAB_CLASSES: class ids a command may name are below it. */
export const MAX_CLASSES = 64;
