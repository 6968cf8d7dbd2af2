/**
 * Where the upstream file lives and nginx runs: this machine, or a server reached over ssh (./ssh.ts).
 *
 * Every operation is a program with an argument array. The few that need a shell (write a temp file then
 * rename it, hold a lock) run a constant script that takes the paths as positional parameters ("$1"), so no
 * text from an input ever becomes shell code. With `sudo`, file and nginx operations run through `sudo -n`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { ExternalError } from '../errors.js';
import { spawnTool, type RunningChild } from '../util/child.js';

export interface ExecOptions {
  /** Bytes for the program's stdin. */
  input?: string | Buffer;
  /** Run through `sudo -n` when the host was set up with sudo. True by default; false for health probes. */
  privileged?: boolean;
  /** Stop the program (SIGTERM) after this long. Default 2 minutes. */
  timeoutMs?: number;
  /** Stop the program (SIGTERM) when this aborts (a cancelled job). Over ssh this ends the session. */
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  /** Set when the program did not run because the connection to the host failed (ssh's own error). */
  transportError?: string;
}

export interface HostLock {
  /** False once the process holding the lock has gone (e.g. the ssh connection dropped). */
  held(): boolean;
  release(): Promise<void>;
}

/** Another run holds the lock. */
export class LockHeldError extends ExternalError {}

export interface Host {
  /** `this machine` or `user@host:port`, for messages. */
  readonly label: string;
  readonly remote: boolean;
  /** Runs a program; resolves with its result whatever the exit code (rejects only when it cannot start). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs a program; resolves with its stdout on exit 0, else rejects with an ExternalError naming it. */
  run(argv: readonly string[], options?: ExecOptions): Promise<string>;
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Writes a temp file beside `path` and renames it over `path` (keeping the old file's mode). */
  writeFileAtomic(path: string, data: string | Buffer): Promise<void>;
  removeFile(path: string): Promise<void>;
  /** Takes an exclusive `flock` on `path` (created if missing) and writes `holder` into it, or throws LockHeldError. */
  lock(path: string, holder: string): Promise<HostLock>;
  /** Ends connections and removes temp files. */
  close(): Promise<void>;
  /**
   * A remote host: a local port forwarded through it to `server` (host:port as the host sees it), for requests
   * from this machine to servers only the host can reach. A local host has none: its servers are reached directly.
   */
  forward?(server: string): Promise<Forward>;
}

export interface Forward {
  /** `127.0.0.1:<port>` on this machine. */
  address: string;
  close(): Promise<void>;
}

/** Exit code of `flock -n` when the lock is taken (`-E 75`, EX_TEMPFAIL), distinct from flock's own errors. */
const LOCK_CONFLICT = 75;
/** Exit code of READ_SCRIPT when the file does not exist. */
const MISSING = 3;

const READ_SCRIPT = 'if [ -e "$1" ]; then exec cat -- "$1"; else exit 3; fi';
// Through a symlink to the file it points at; cp -p first so the new file keeps the old one's mode and
// owner; then overwrite the copy and rename it into place.
const WRITE_SCRIPT =
  'f="$1"; if [ -L "$f" ]; then f=$(readlink -f -- "$f") || exit 1; fi; ' +
  't="$f.opskit-$$.tmp"; trap \'rm -f -- "$t"\' EXIT; umask 022; ' +
  'if [ -e "$f" ]; then cp -p -- "$f" "$t" || exit 1; fi; cat > "$t" && mv -f -- "$t" "$f"';
// Runs under flock: note who holds the lock, say so, then hold it until stdin closes.
const LOCK_SCRIPT = 'printf "%s\\n" "$2" > "$1"; echo locked; exec cat > /dev/null';

const LOCK_TIMEOUT_MS = 60_000;

/** A host whose operations are programs started by `spawn` (locally, or through ssh). */
export abstract class ProgramHost implements Host {
  abstract readonly label: string;
  abstract readonly remote: boolean;

  constructor(protected readonly sudo: boolean) {}

  /** Starts `argv` (already prefixed with sudo when needed). */
  protected abstract spawn(argv: readonly string[], stdin: 'pipe' | 'ignore'): RunningChild;

  /** A message for a failed program; ssh overrides it to explain its own failures (exit 255). */
  protected explain(what: string, result: ExecResult): string {
    const tail = result.stderr.trim().split('\n').slice(-6).join('\n');
    const how = result.timedOut ? 'did not finish in time' : `exited with code ${result.code}`;
    return `${what} ${how} on ${this.label}${tail ? `: ${tail}` : ''}`;
  }

  private withSudo(argv: readonly string[], privileged: boolean): string[] {
    return privileged && this.sudo ? ['sudo', '-n', '--', ...argv] : [...argv];
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const { input, privileged = true, timeoutMs = 120_000 } = options;
    const running = this.spawn(this.withSudo(argv, privileged), input === undefined ? 'ignore' : 'pipe');
    const chunks: Buffer[] = [];
    running.stdout.on('data', (d: Buffer) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      running.child.kill('SIGTERM');
    }, timeoutMs);
    const stop = () => running.child.kill('SIGTERM');
    options.signal?.addEventListener('abort', stop, { once: true });
    if (input !== undefined) {
      running.stdin.on('error', () => {}); // a program that exits without reading: its exit code tells
      running.stdin.end(input);
    }
    try {
      await running.done;
    } catch (err) {
      if (running.child.exitCode === null && running.child.signalCode === null) throw err; // did not start
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
    }
    return {
      code: running.child.exitCode ?? 128,
      stdout: Buffer.concat(chunks),
      stderr: running.stderrText(),
      timedOut,
    };
  }

  async run(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) throw new ExternalError(this.explain(describeCommand(argv), result));
    return result.stdout.toString('utf8');
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const argv = ['sh', '-c', READ_SCRIPT, 'sh', path];
    const result = await this.exec(argv);
    if (result.code === MISSING) return undefined;
    if (result.code !== 0) throw new ExternalError(this.explain(`reading ${path}`, result));
    return result.stdout;
  }

  async writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
    const result = await this.exec(['sh', '-c', WRITE_SCRIPT, 'sh', path], { input: data });
    if (result.code !== 0) throw new ExternalError(this.explain(`writing ${path}`, result));
  }

  async removeFile(path: string): Promise<void> {
    await this.run(['rm', '-f', '--', path]);
  }

  async lock(path: string, holder: string): Promise<HostLock> {
    const argv = ['flock', '-n', '-E', String(LOCK_CONFLICT), path, 'sh', '-c', LOCK_SCRIPT, 'sh', path, holder];
    const running = this.spawn(this.withSudo(argv, true), 'pipe');
    running.stdin.on('error', () => {});
    running.done.catch(() => {}); // its outcome is read below through the exit code
    let exited = false;
    const exit = new Promise<void>((resolve) => running.child.once('close', () => resolve()));
    void exit.then(() => (exited = true));
    const acquired = await new Promise<boolean>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        running.child.kill('SIGTERM');
        reject(new ExternalError(`could not take the lock ${path} on ${this.label} within ${LOCK_TIMEOUT_MS / 1000}s`));
      }, LOCK_TIMEOUT_MS);
      running.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('locked\n')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      running.child.once('error', (err) => {
        clearTimeout(timer);
        reject(new ExternalError(`could not start flock on ${this.label}: ${err.message}`));
      });
      void exit.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!acquired) {
      const result: ExecResult = {
        code: running.child.exitCode ?? 128,
        stdout: Buffer.alloc(0),
        stderr: running.stderrText(),
        timedOut: false,
      };
      if (result.code === LOCK_CONFLICT) {
        const by = (await this.readFile(path).catch(() => undefined))?.toString('utf8').trim();
        throw new LockHeldError(
          `another run holds the lock ${path} on ${this.label}${by ? ` (${by})` : ''}; ` +
            'nothing was changed. Try again when it has finished',
        );
      }
      throw new ExternalError(`could not take the lock: ${this.explain(`flock ${path}`, result)}`);
    }
    return {
      held: () => !exited,
      release: async () => {
        running.stdin.end();
        const timer = setTimeout(() => running.child.kill('SIGTERM'), 10_000);
        await exit;
        clearTimeout(timer);
      },
    };
  }

  async close(): Promise<void> {}
}

/** This machine. File operations use Node's fs unless sudo is needed; nginx and flock run as programs. */
export class LocalHost extends ProgramHost {
  readonly label = 'this machine';
  readonly remote = false;

  constructor(sudo = false) {
    super(sudo);
  }

  protected spawn(argv: readonly string[], stdin: 'pipe' | 'ignore'): RunningChild {
    return spawnTool(argv[0]!, argv.slice(1), { stdin });
  }

  override async readFile(path: string): Promise<Buffer | undefined> {
    if (this.sudo) return super.readFile(path);
    try {
      return await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ExternalError(`could not read ${path}: ${(err as Error).message}`);
    }
  }

  override async writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
    if (this.sudo) return super.writeFileAtomic(path, data);
    path = await realpath(path).catch(() => path); // through a symlink to the file it points at
    const tmp = `${path}.opskit-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    let mode = 0o644;
    try {
      mode = (await stat(path)).mode & 0o7777;
    } catch {
      // a new file
    }
    try {
      const handle = await open(tmp, 'wx', mode);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(tmp, mode); // the umask may have narrowed it
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new ExternalError(`could not write ${path}: ${(err as Error).message}`);
    }
  }

  override async removeFile(path: string): Promise<void> {
    if (this.sudo) return super.removeFile(path);
    await rm(path, { force: true });
  }
}

/** `nginx -s reload` as a person would type it (for messages). */
export function describeCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
