/**
 * Defaults shared by the daemon and the client commands, kept in a module
 * with no heavy imports so every `cloudlet` command can read them cheaply.
 */

/** DEFAULT_DATA_DIR is where `cloudlet up` keeps its state when --data-dir is not given ($CLOUDLET_DATA_DIR overrides). */
export const DEFAULT_DATA_DIR = process.env.CLOUDLET_DATA_DIR ?? '/var/lib/cloudlet';
