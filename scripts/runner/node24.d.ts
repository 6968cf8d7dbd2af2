/** Path of a Node 24 binary (the Actions runtime). */
export function node24(): string;
