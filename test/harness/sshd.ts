/**
 * A real sshd on loopback for tests: a generated host key and client key in a temp dir, key-only login as
 * the current user (root is fine: PermitRootLogin prohibit-password), AuthorizedKeysFile in the temp dir,
 * no PAM, no StrictModes. `knownHosts` trusts its host key; `otherKnownHosts` a different key for the same
 * host (a "changed host key"). `stop()` ends sshd and removes the temp dir.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { runProcess, startProcess, type Started } from './process.js';
import { tempDir } from './tmp.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshServer {
  host: string;
  port: number;
  user: string;
  /** The client's private key (OpenSSH format). */
  clientKey: string;
  /** A known_hosts line for `[127.0.0.1]:<port>` with the server's host key. */
  knownHosts: string;
  /** The same host with another key: ssh must refuse it. */
  otherKnownHosts: string;
  /** sshd's log (-E). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

async function keygen(file: string, comment: string): Promise<{ key: string; pub: string }> {
  const r = await runProcess('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return { key: await readFile(file, 'utf8'), pub: (await readFile(`${file}.pub`, 'utf8')).trim() };
}

export async function startSshd(): Promise<SshServer> {
  const tmp = await tempDir('opskit-sshd-');
  const dir = tmp.path;
  let server: Started | undefined;
  try {
    // sshd refuses to start without its privilege separation dir.
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const host = await keygen(path.join(dir, 'host_ed25519'), 'opskit-test-host');
    const other = await keygen(path.join(dir, 'other_host_ed25519'), 'opskit-test-other-host');
    const client = await keygen(path.join(dir, 'client_ed25519'), 'opskit-test-client');
    const authorized = path.join(dir, 'authorized_keys');
    await writeFile(authorized, `${client.pub}\n`, { mode: 0o600 });
    const user = os.userInfo().username;
    const log = path.join(dir, 'sshd.log');
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = path.join(dir, 'sshd_config');
      await writeFile(
        config,
        [
          `ListenAddress 127.0.0.1`,
          `HostKey ${path.join(dir, 'host_ed25519')}`,
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorized}`,
          'PermitRootLogin prohibit-password',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'UseDNS no',
          `AllowUsers ${user}`,
          'MaxSessions 20',
          'MaxStartups 50:30:100',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      );
      server = startProcess(SSHD, ['-D', '-E', log, '-f', config, '-p', String(port)], { cwd: dir });
      const started = server;
      const exited = new Promise<false>((resolve) => started.child.once('exit', () => resolve(false)));
      const ready = await Promise.race([waitForPort(port).then(() => true), exited]);
      const hostKey = host.pub.split(' ').slice(0, 2).join(' ');
      const otherKey = other.pub.split(' ').slice(0, 2).join(' ');
      if (ready) {
        let stopped: Promise<void> | undefined;
        return {
          host: '127.0.0.1',
          port,
          user,
          clientKey: client.key,
          knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`,
          otherKnownHosts: `[127.0.0.1]:${port} ${otherKey}\n`,
          log: () => readFile(log, 'utf8').catch(() => ''),
          stop: () =>
            (stopped ??= (async () => {
              // Each connection has its own sshd process; end them with the listener.
              const sessions = await runProcess('pgrep', ['-P', String(started.child.pid)]);
              await started.stop();
              for (const pid of sessions.stdout.split('\n').filter(Boolean).map(Number)) {
                try {
                  process.kill(pid, 'SIGTERM');
                } catch {
                  // already gone
                }
              }
              await tmp.cleanup();
            })()),
        };
      }
      const text = await readFile(log, 'utf8').catch(() => '');
      if (attempt < 3 && /Address already in use/i.test(text + started.output())) continue;
      throw new Error(`sshd exited before listening:\n${started.output()}\n${text}`);
    }
  } catch (error) {
    await server?.stop();
    await tmp.cleanup();
    throw error;
  }
}
