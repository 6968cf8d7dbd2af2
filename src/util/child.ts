/**
 * External tools (pg_dump, pg_restore, psql, redis-cli, tar, lz4) as child processes: argument
 * arrays only, never a shell string; stderr kept (last lines) for error messages, scrubbed of secrets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { type Readable, Writable } from 'node:stream';
import { ExternalError } from '../errors.js';
import { scrub } from '../redact.js';
import { onAbort } from './signals.js';

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values to remove from any message built from the tool's output. */
  secrets?: readonly string[];
  /** stdin: 'pipe' to write into it, 'ignore', or a file descriptor to read (the caller keeps and closes its own). */
  stdin?: 'pipe' | 'ignore' | number;
  /**
   * stdout: 'pipe' to read it as a stream, 'ignore' to drop it, or where it goes instead: a file
   * descriptor, or another child's stdin (the two processes then share one pipe, with no copy through Node).
   */
  stdout?: 'pipe' | 'ignore' | number | Writable;
  /** Stops the child (SIGTERM) when aborted: a cancelled run ends its tools instead of waiting for them. */
  signal?: AbortSignal;
}

export interface RunningChild {
  child: ChildProcess;
  /** The child's stdout (when `stdout` was 'pipe'). */
  stdout: Readable;
  stdin: Writable;
  /** Resolves on exit code 0; rejects with an ExternalError naming the tool, the code and its last stderr lines. */
  done: Promise<void>;
  stderrText(): string;
}

/** A process or stream writing an archive's raw bytes (backup/archive.ts writeArchive takes one). */
export interface RunningProducer {
  /** The raw archive, when the producer was not given a pipe to write into. */
  stream?: Readable;
  /** Settles when the producer has finished (a child's exit). */
  done: Promise<void>;
  kill?(): void;
}

const STDERR_KEEP = 16 * 1024;

export function spawnTool(command: string, args: readonly string[], options: ChildOptions = {}): RunningChild {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_KEEP);
  });
  const name = command.split('/').pop() ?? command;
  const stop = onAbort(options.signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  child.once('close', stop);
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ExternalError(
          err.code === 'ENOENT' ? `${name} was not found (${command})` : `${name} could not start: ${err.message}`,
        ),
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const tail = scrub(stderr.trim().split('\n').slice(-6).join('\n'), options.secrets ?? []);
      reject(
        new ExternalError(
          `${name} ${signal ? `was stopped by ${signal}` : `exited with code ${code}`}${tail ? `: ${tail}` : ''}`,
        ),
      );
    });
  });
  return {
    child,
    stdout: child.stdout as Readable,
    stdin: child.stdin as Writable,
    done,
    stderrText: () => scrub(stderr, options.secrets ?? []),
  };
}

/** Runs a tool to completion and returns its stdout (rejects like `done`). */
export async function runTool(command: string, args: readonly string[], options: ChildOptions = {}): Promise<string> {
  const running = spawnTool(command, args, options);
  let out = '';
  running.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await running.done;
  return out;
}

/**
 * A Writable feeding a child's stdin that keeps accepting (and dropping) data once the child has
 * closed its stdin: a reader that stops early must not fail the stream whose bytes are still being
 * hashed. Whether the child succeeded is for its `done` to say.
 */
export function stdinSink(stdin: Writable): Writable {
  let open = true;
  const shut = () => (open = false);
  stdin.on('error', shut);
  stdin.on('close', shut);
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!open) return done();
      if (stdin.write(chunk)) return done();
      const go = () => {
        stdin.off('drain', go);
        stdin.off('close', go);
        done();
      };
      stdin.once('drain', go);
      stdin.once('close', go);
    },
    final(done) {
      if (open) stdin.end();
      done();
    },
  });
}

/** Stops a child that is still running (SIGTERM). */
export function killChild(running: RunningChild): void {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill();
}
