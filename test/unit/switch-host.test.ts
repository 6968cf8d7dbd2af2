import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCommandLine } from '../../src/nginx/command.js';
import { LocalHost, LockHeldError, ProgramHost } from '../../src/ssh/host.js';
import { shellCommand } from '../../src/ssh/quote.js';
import { spawnTool, type RunningChild } from '../../src/util/child.js';
import { tempDir } from '../harness/tmp.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('opskit-host-');
});
afterAll(async () => {
  await dir.cleanup();
});

/** The command-based host (what ssh uses), run locally: the shell scripts for read, write and lock. */
class CommandHost extends ProgramHost {
  readonly label = 'test host';
  readonly remote = true;
  spawned: string[][] = [];
  protected spawn(argv: readonly string[], stdin: 'pipe' | 'ignore'): RunningChild {
    this.spawned.push([...argv]);
    return spawnTool(argv[0]!, argv.slice(1), { stdin });
  }
}

describe('command lines without a shell', () => {
  it.each([
    ['nginx -t', ['nginx', '-t']],
    ['  sudo   nginx -s reload ', ['sudo', 'nginx', '-s', 'reload']],
    [`nginx -g 'pid /run/x.pid; daemon off;' -t`, ['nginx', '-g', 'pid /run/x.pid; daemon off;', '-t']],
    [`docker exec "my lb" nginx -t`, ['docker', 'exec', 'my lb', 'nginx', '-t']],
    [`a\\ b "x\\"y" ''`, ['a b', 'x"y', '']],
  ])('%s', (raw, argv) => expect(parseCommandLine('cmd', raw)).toEqual(argv));

  it.each([
    'nginx -t && nginx -s reload',
    'nginx -t; echo',
    'nginx -c $HOME/x',
    'nginx `id`',
    'nginx > /tmp/x',
    'a | b',
    '',
  ])('refuses %j', (raw) => expect(() => parseCommandLine('cmd', raw)).toThrow(/input 'cmd': expected a command/));
});

describe('arguments quoted for the remote shell', () => {
  it('reach the program exactly as given, nothing expanded', () => {
    const args = ['plain', "it's", '$HOME', '`id`', 'a b', '; rm -rf /', '*', '', 'x=y', '~', 'line\nbreak', '"q"'];
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellCommand(args)}`]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(args);
  });
});

describe('hosts', () => {
  for (const make of [() => new LocalHost(), () => new CommandHost(false)]) {
    const host = make();
    const name = host instanceof CommandHost ? 'command host (as over ssh)' : 'local host';

    it(`${name}: reads, writes atomically keeping the mode, and removes`, async () => {
      const file = path.join(dir.path, `${name.split(' ')[0]}.conf`);
      expect(await host.readFile(file)).toBeUndefined();
      await host.writeFileAtomic(file, 'one\n');
      expect(readFileSync(file, 'utf8')).toBe('one\n');
      chmodSync(file, 0o640);
      await host.writeFileAtomic(file, Buffer.from('two\n'));
      expect((await host.readFile(file))?.toString()).toBe('two\n');
      expect(statSync(file).mode & 0o777).toBe(0o640);
      expect(readdirSync(dir.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      await host.removeFile(file);
      expect(await host.readFile(file)).toBeUndefined();
    });

    it(`${name}: writes through a symlink to the file it points at`, async () => {
      const target = path.join(dir.path, `${name.split(' ')[0]}-target.conf`);
      const link = path.join(dir.path, `${name.split(' ')[0]}-link.conf`);
      writeFileSync(target, 'old\n');
      symlinkSync(target, link);
      await host.writeFileAtomic(link, 'new\n');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(target, 'utf8')).toBe('new\n');
    });

    it(`${name}: a second lock fails naming the holder; release frees it`, async () => {
      const lock = path.join(dir.path, `${name.split(' ')[0]}.lock`);
      const first = await host.lock(lock, 'run https://x/runs/1');
      expect(first.held()).toBe(true);
      const second = host.lock(lock, 'run 2');
      await expect(second).rejects.toThrow(LockHeldError);
      await expect(host.lock(lock, 'run 2')).rejects.toThrow(
        /another run holds the lock .* \(run https:\/\/x\/runs\/1\)/,
      );
      await first.release();
      expect(first.held()).toBe(false);
      const third = await host.lock(lock, 'run 3');
      await third.release();
    });

    it(`${name}: a failing program says which, where and why`, async () => {
      await expect(host.run(['sh', '-c', 'echo broken >&2; exit 3'])).rejects.toThrow(
        /sh -c "echo broken >&2; exit 3" exited with code 3 on .*: broken/,
      );
    });
  }

  it('runs file and nginx operations through sudo -n, but not probes', async () => {
    const host = new CommandHost(true);
    await host.exec(['true'], { privileged: false });
    await host.exec(['nginx', '-t']).catch(() => undefined);
    expect(host.spawned[0]).toEqual(['true']);
    expect(host.spawned[1]!.slice(0, 4)).toEqual(['sudo', '-n', '--', 'nginx']);
  });

  it('says so when the directory is not there', async () => {
    await expect(new LocalHost().writeFileAtomic(path.join(dir.path, 'nodir', 'x.conf'), 'x')).rejects.toThrow(
      /could not write .*nodir\/x\.conf/,
    );
    await expect(new CommandHost(false).writeFileAtomic(path.join(dir.path, 'nodir', 'x.conf'), 'x')).rejects.toThrow(
      /writing .*nodir\/x\.conf exited with code 2 on test host: .*Directory nonexistent/,
    );
  });
});
