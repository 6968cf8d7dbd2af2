/**
 * A host reached with the system `ssh` client. The private key and the known hosts are written to 0600 files
 * in a private temp dir (never on a command line), the host key must be in the known hosts (no trust on first
 * use), and every command is an argument array quoted for the remote shell (./quote.ts). Commands share one
 * connection (ControlMaster), so a run pays for one handshake. `close()` ends it and removes the temp dir.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ExternalError } from '../errors.js';
import { spawnTool, type RunningChild } from '../util/child.js';
import { describeCommand, ProgramHost, type ExecOptions, type ExecResult, type Forward } from './host.js';
import { shellCommand } from './quote.js';

export interface SshOptions {
  host: string;
  user: string;
  port: number;
  /** An OpenSSH or PEM private key (unencrypted). Without it, ssh uses the runner's agent if there is one. */
  privateKey?: string;
  /** known_hosts lines; the host key must be among them. */
  knownHosts: string;
  sudo: boolean;
  /** Where the private temp dir goes (default the OS temp dir). */
  tempDir?: string;
}

export async function openSsh(options: SshOptions): Promise<SshHost> {
  const base = options.tempDir && !/\s/.test(options.tempDir) ? options.tempDir : os.tmpdir();
  const dir = await mkdtemp(path.join(/\s/.test(base) ? '/tmp' : base, 'opskit-ssh-')); // mode 0700
  try {
    const knownHostsFile = path.join(dir, 'known_hosts');
    await writeFile(knownHostsFile, options.knownHosts, { mode: 0o600, flag: 'wx' });
    let keyFile: string | undefined;
    if (options.privateKey) {
      keyFile = path.join(dir, 'key');
      await writeFile(keyFile, options.privateKey, { mode: 0o600, flag: 'wx' });
    }
    return new SshHost(options, dir, knownHostsFile, keyFile);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export class SshHost extends ProgramHost {
  readonly label: string;
  readonly remote = true;
  private readonly args: string[];
  /** The same without the shared connection: a tunnel is a connection of its own. */
  private readonly tunnelArgs: string[];

  constructor(
    private readonly options: SshOptions,
    private readonly dir: string,
    knownHostsFile: string,
    keyFile: string | undefined,
  ) {
    super(options.sudo);
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.label = `${options.user}@${host}${options.port === 22 ? '' : `:${options.port}`}`;
    const o = (setting: string) => ['-o', setting];
    const common = [
      ...o('BatchMode=yes'),
      ...o('StrictHostKeyChecking=yes'),
      ...o(`UserKnownHostsFile=${knownHostsFile}`),
      ...o('GlobalKnownHostsFile=/dev/null'),
      ...o('CheckHostIP=no'),
      ...o('ConnectTimeout=20'),
      ...o('ServerAliveInterval=10'),
      ...o('ServerAliveCountMax=3'),
      ...o('LogLevel=ERROR'),
    ];
    const identity = [
      ...(keyFile ? ['-i', keyFile, ...o('IdentitiesOnly=yes'), ...o('IdentityAgent=none')] : []),
      '-p',
      String(options.port),
      '-l',
      options.user,
    ];
    this.args = [
      ...common,
      ...o('ControlMaster=auto'),
      ...o(`ControlPath=${path.join(dir, 'cm')}`),
      ...o('ControlPersist=no'),
      ...identity,
    ];
    this.tunnelArgs = [
      ...common,
      ...o('ControlMaster=no'),
      ...o('ControlPath=none'),
      ...o('ExitOnForwardFailure=yes'),
      ...identity,
    ];
  }

  /**
   * A local port forwarded through the host to `server` (host:port as the host sees it): what a check from this
   * runner needs when the servers are reachable only from the host (127.0.0.1:8001 on it). Resolves once the
   * forward listens; `close()` ends it.
   */
  async forward(server: string): Promise<Forward> {
    const m = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(server);
    if (!m) throw new ExternalError(`cannot forward to '${server}': expected host:port`);
    const port = await freeLocalPort();
    const running = spawnTool('ssh', [
      ...this.tunnelArgs,
      '-N',
      '-L',
      `127.0.0.1:${port}:${m[1]}:${m[2]}`,
      '--',
      this.options.host,
    ]);
    running.done.catch(() => {}); // its exit is watched below
    let exited = false;
    running.child.once('close', () => (exited = true));
    const close = async () => {
      if (!exited) {
        const gone = new Promise<void>((resolve) => running.child.once('close', () => resolve()));
        running.child.kill('SIGTERM');
        await gone;
      }
    };
    const deadline = Date.now() + 30_000;
    while (!(await accepts(port))) {
      if (exited || Date.now() > deadline) {
        await close();
        const why = this.explain(`forwarding to ${server}`, {
          code: running.child.exitCode ?? 255,
          stdout: Buffer.alloc(0),
          stderr: running.stderrText(),
          timedOut: !exited,
        });
        throw new ExternalError(`could not reach ${server} through ${this.label}: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { address: `127.0.0.1:${port}`, close };
  }

  override async exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    const result = await super.exec(argv, options);
    if (result.code === 255) result.transportError = this.explain(describeCommand(argv), result);
    return result;
  }

  protected spawn(argv: readonly string[], stdin: 'pipe' | 'ignore'): RunningChild {
    return spawnTool('ssh', [...this.args, '--', this.options.host, shellCommand(argv)], { stdin });
  }

  /** ssh exits 255 for its own failures; say which and what to do. Other codes are the remote program's. */
  protected override explain(what: string, result: ExecResult): string {
    if (result.code !== 255) return super.explain(what, result);
    const stderr = result.stderr.trim();
    const where = `ssh to ${this.label}`;
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr))
      return `${where} refused: the host's key is not the one in ssh-known-hosts (Host key verification failed). Check ssh-known-hosts (ssh-keyscan -p ${this.options.port} ${this.options.host})`;
    if (/Permission denied/i.test(stderr))
      return `${where} failed: ${this.options.user} was refused (${lastLine(stderr)}). Check ssh-key and ssh-user`;
    if (/Connection refused|timed out|No route|Could not resolve|Name or service not known/i.test(stderr))
      return `${where} failed: ${lastLine(stderr)}`;
    return `${where} failed (${what}): ${lastLine(stderr) || 'exit code 255'}`;
  }

  override async close(): Promise<void> {
    try {
      const stop = spawnTool('ssh', [...this.args, '-O', 'exit', '--', this.options.host]);
      await stop.done.catch(() => {}); // no master left is fine
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}

function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function lastLine(text: string): string {
  return text.split('\n').filter(Boolean).pop() ?? '';
}
