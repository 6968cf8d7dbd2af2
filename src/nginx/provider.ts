/**
 * The nginx TrafficProvider: the state lives in the header of the upstream file, a change is "render, write
 * atomically, nginx -t, reload", and the file as it was when the run began is kept beside it (`.previous`)
 * and in memory, to be put back byte for byte when anything fails.
 */
import { ExternalError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeCommand, type ExecResult, type Host } from '../ssh/host.js';
import type { Colour, ProviderLock, TrafficProvider, TrafficState } from '../switch/types.js';
import { readUpstreamState, formatUpstream } from './upstream.js';

export interface NginxProviderOptions {
  file: string;
  upstreamName: string;
  /** The servers of each colour (from the inputs), used to read a hand-written file. */
  servers: Record<Colour, string[]>;
  keepalive: number;
  testCommand: string[];
  reloadCommand: string[];
}

/** nginx's own defaults, written out so a person reading the file sees them. */
const MAX_FAILS = 1;
const FAIL_TIMEOUT = '10s';

export class NginxProvider implements TrafficProvider {
  readonly name = 'nginx';
  readonly weighted = true;
  readonly where: string;
  /** The file when first read in this run: its bytes, or null when it did not exist. */
  private original: Buffer | null | undefined;
  /** What is on disk (and, after a successful apply, live) now. */
  private current: Buffer | null | undefined;
  private savedPrevious = false;

  constructor(
    private readonly host: Host,
    private readonly options: NginxProviderOptions,
    private readonly logger: Logger,
  ) {
    this.where = `upstream '${options.upstreamName}' in ${options.file}${host.remote ? ` on ${host.label}` : ''}`;
  }

  lock(holder: string): Promise<ProviderLock> {
    return this.host.lock(`${this.options.file}.lock`, holder);
  }

  async readState(): Promise<TrafficState | undefined> {
    const bytes = (await this.host.readFile(this.options.file)) ?? null;
    if (this.original === undefined) this.original = bytes;
    this.current = bytes;
    if (bytes === null) return undefined;
    return readUpstreamState(
      bytes.toString('utf8'),
      this.options.file,
      this.options.upstreamName,
      this.options.servers,
    );
  }

  async apply(state: TrafficState): Promise<void> {
    if (this.current === undefined) await this.readState();
    const { file } = this.options;
    const text = formatUpstream({
      name: this.options.upstreamName,
      state,
      keepalive: this.options.keepalive,
      maxFails: MAX_FAILS,
      failTimeout: FAIL_TIMEOUT,
    });
    const before = this.current ?? null;
    if (!this.savedPrevious && this.original) {
      await this.host.writeFileAtomic(`${file}.previous`, this.original);
      this.savedPrevious = true;
    }
    await this.host.writeFileAtomic(file, text);
    this.current = Buffer.from(text);
    await this.activate(before, 'the new upstream file');
  }

  async restore(): Promise<boolean> {
    if (this.original === undefined || this.current === undefined || sameBytes(this.original, this.current))
      return false;
    const before = this.current;
    await this.put(this.original);
    this.logger.info(`restored ${this.options.file} as it was before this run`);
    await this.activate(before, 'the restored upstream file');
    return true;
  }

  /**
   * nginx -t, then reload. When either fails, `before` goes back on disk and nothing (more) is reloaded, so
   * the file matches what nginx runs.
   */
  private async activate(before: Buffer | null, what: string): Promise<void> {
    const { testCommand, reloadCommand } = this.options;
    const test = await this.host.exec(testCommand);
    if (test.transportError) {
      await this.put(before);
      throw new ExternalError(`${test.transportError}; the file before it is back and nginx was not reloaded`);
    }
    if (test.code !== 0) {
      await this.put(before);
      throw new ExternalError(
        `${describeCommand(testCommand)} rejected ${what} (${outcome(test)}), so the file before it is back and nginx was not reloaded${tail(test.stderr)}`,
      );
    }
    const reload = await this.host.exec(reloadCommand);
    if (reload.code !== 0 && reload.transportError) {
      await this.put(before);
      throw new ExternalError(
        `${reload.transportError}; the file before it is back (nginx may or may not have reloaded)`,
      );
    }
    if (reload.code !== 0) {
      await this.put(before);
      throw new ExternalError(
        `${describeCommand(reloadCommand)} failed (${outcome(reload)}), so the file before it is back${tail(reload.stderr)}`,
      );
    }
    this.logger.info(`${describeCommand(testCommand)}: ok; ${describeCommand(reloadCommand)}: done`);
  }

  private async put(bytes: Buffer | null): Promise<void> {
    if (bytes === null) await this.host.removeFile(this.options.file);
    else await this.host.writeFileAtomic(this.options.file, bytes);
    this.current = bytes;
  }
}

function outcome(result: ExecResult): string {
  return result.timedOut ? 'it did not finish in time' : `exit code ${result.code}`;
}

/** The last lines of a command's stderr (nginx says which file and line it objects to). */
function tail(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean).slice(-4);
  return lines.length ? `:\n${lines.join('\n')}` : '';
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
