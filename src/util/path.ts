/** Finding programs on PATH. */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The first executable file named `program` in PATH's directories, or undefined. */
export function findOnPath(program: string, pathVar: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // missing or not executable: keep looking
    }
  }
  return undefined;
}
