/** opskit's own version, recorded in manifests and reports. */
export const OPSKIT_VERSION = '0.1.0';
