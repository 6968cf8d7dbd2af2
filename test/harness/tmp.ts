import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temp directory that `cleanup()` removes; tests call it in afterAll/afterEach. */
export async function tempDir(prefix = 'opskit-test-'): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { path: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
