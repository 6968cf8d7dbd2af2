/**
 * The Render spec vendored in specs/ (see specs/README.md): identical to the shared copy next to this
 * checkout when that exists, otherwise at least an OpenAPI 3 document with paths; and what the simulator reads.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RENDER_SPEC } from '../harness/render-sim.js';

const VENDORED = fileURLToPath(new URL('../../specs/render-openapi.json', import.meta.url));
const SHARED = fileURLToPath(new URL('../../../shared/specs/render-openapi.json', import.meta.url));

describe('specs/render-openapi.json', () => {
  it('is what the Render simulator validates against by default', () => {
    expect(DEFAULT_RENDER_SPEC).toBe(VENDORED);
  });

  it('parses as an OpenAPI 3 document with paths', () => {
    const spec = JSON.parse(readFileSync(VENDORED, 'utf8')) as { openapi?: unknown; paths?: object };
    expect(spec.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(Object.keys(spec.paths ?? {})).toContain('/services/{serviceId}/deploys');
  });

  (existsSync(SHARED) ? it : it.skip)(
    'is byte for byte the shared copy in ../shared/specs (refresh: cp ../shared/specs/render-openapi.json specs/)',
    () => {
      expect(readFileSync(VENDORED).equals(readFileSync(SHARED))).toBe(true);
    },
  );
});
