/**
 * db-restore mode: clean, the bundle against a real PostgreSQL server: the restore goes into
 * `<db>__opskit_restore`, is verified, gets the target's database-level settings, and is swapped in;
 * confirm and the pre-restore backup cover any content; the pre-restore backup is encrypted as the
 * source; the next run puts right what an interrupted swap left.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runAction } from '../harness/action.js';
import { databaseSettings, fingerprint, leftoversIn, opskitDatabases } from '../harness/fingerprint.js';
import { type PgServer, rowCounts, seedSampleSchema, startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

let pg: PgServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let appBackup: string;

beforeAll(async () => {
  [pg, dir] = await Promise.all([startPostgres(), tempDir('opskit-clean-')]);
  await seedSampleSchema(pg, 'app', { scale: 1 });
  await pg.psql(`CREATE ROLE reporter LOGIN; CREATE ROLE auditor NOLOGIN; CREATE ROLE owner_role NOLOGIN`);
  const backup = await runAction('db-backup', {
    'database-url': pg.url('app'),
    destination: path.join(dir.path, 'app'),
  });
  if (backup.code !== 0) throw new Error(`db-backup failed: ${backup.stdout}`);
  appBackup = backup.outputs.uri!;
}, 180_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), dir?.cleanup()]);
});

/** A database unlike the backup, with database-level settings a clean restore must keep. */
async function makeTarget(db: string): Promise<void> {
  await pg.psql(`DROP DATABASE IF EXISTS "${db}"; CREATE DATABASE "${db}"`);
  await pg.psql(`CREATE TABLE marker (note text); INSERT INTO marker VALUES ('before restore')`, db);
  await pg.psql(
    `ALTER DATABASE "${db}" OWNER TO owner_role;
     REVOKE CONNECT, TEMPORARY ON DATABASE "${db}" FROM PUBLIC;
     GRANT CONNECT ON DATABASE "${db}" TO reporter;
     GRANT CONNECT, TEMPORARY ON DATABASE "${db}" TO auditor WITH GRANT OPTION;
     ALTER DATABASE "${db}" SET statement_timeout = '30s';
     ALTER DATABASE "${db}" SET search_path = "$user", public, "Odd, Schema";
     ALTER DATABASE "${db}" SET app.tenant = 'acme''s';
     ALTER ROLE reporter IN DATABASE "${db}" SET work_mem = '8MB';
     ALTER DATABASE "${db}" CONNECTION LIMIT 40;
     COMMENT ON DATABASE "${db}" IS 'orders, since 2019';`,
  );
}

describe('clean restore', () => {
  it('swaps in a verified restore and keeps grants, datacl, ALTER DATABASE SET settings, owner and comment', async () => {
    await makeTarget('shop');
    const before = await databaseSettings(pg, 'shop');
    expect(before.acl).toContain('reporter=c/owner_role');
    const run = await runAction('db-restore', {
      'database-url': pg.url('shop'),
      source: appBackup,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: 'shop',
      jobs: '2',
    });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('restoring into shop__opskit_restore');
    expect(run.stdout).toMatch(/swapped: shop is the restored database/);
    expect(await rowCounts(pg, 'shop')).toEqual(await rowCounts(pg, 'app'));
    expect(await databaseSettings(pg, 'shop')).toEqual(before);
    expect(await opskitDatabases(pg)).toEqual([]);
    expect(run.summary).toMatch(/Replaced database \| swapped out and dropped/);
    expect(leftoversIn(path.join(dir.path, 'app'))).toEqual([]);
  }, 180_000);

  it('keeps the replaced database with keep-previous, and the next clean restore drops it', async () => {
    await makeTarget('kept');
    const kept = await runAction('db-restore', {
      'database-url': pg.url('kept'),
      source: appBackup,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: 'kept',
      'keep-previous': 'true',
    });
    expect(kept.code).toBe(0);
    expect(await pg.psql('SELECT note FROM marker', 'kept__opskit_previous')).toBe('before restore');
    expect(await rowCounts(pg, 'kept')).toEqual(await rowCounts(pg, 'app'));

    const again = await runAction('db-restore', {
      'database-url': pg.url('kept'),
      source: appBackup,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: 'kept',
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('dropping kept__opskit_previous, the database an earlier clean restore replaced');
    expect(await opskitDatabases(pg)).toEqual([]);
  }, 180_000);

  it('refuses keep-previous outside mode clean, naming the input, and changes nothing', async () => {
    const run = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: appBackup,
      'keep-previous': 'true',
      'target-database': 'never_kept',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("input 'keep-previous' is for mode clean");
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never_kept'")).toBe('0');
  }, 60_000);

  it.each([
    ['a materialized view', 'CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one', '1 materialized view'],
    ['a sequence', 'CREATE SEQUENCE invoice_no START 1000', '1 sequence'],
    ['a large object', "SELECT lo_from_bytea(0, 'scanned contract'::bytea)", '1 large object'],
  ])(
    'asks for confirm and takes a pre-restore backup for a database with no tables but %s',
    async (_what, sql, words) => {
      const db = `lone_${words.split(' ').slice(1).join('_')}`;
      await pg.psql(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}`);
      await pg.psql(sql, db);
      const dest = path.join(dir.path, `pre-${db}`);
      const fp = await fingerprint(pg, db);

      const refused = await runAction('db-restore', {
        'database-url': pg.url(db),
        source: appBackup,
        mode: 'clean',
        'allow-other-database': 'true',
        'pre-restore-backup': dest,
      });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(`which holds ${words}; set confirm to '${db}'`);
      expect(await fingerprint(pg, db)).toEqual(fp);

      const noBackup = await runAction('db-restore', {
        'database-url': pg.url(db),
        source: appBackup,
        mode: 'clean',
        'allow-other-database': 'true',
        confirm: db,
        'pre-restore-backup': 'off',
      });
      expect(noBackup.code).toBe(1);
      expect(noBackup.stdout).toContain(`input 'pre-restore-backup': clean mode over a database that holds ${words}`);
      expect(await fingerprint(pg, db)).toEqual(fp);

      const done = await runAction('db-restore', {
        'database-url': pg.url(db),
        source: appBackup,
        mode: 'clean',
        'allow-other-database': 'true',
        confirm: db,
        'pre-restore-backup': dest,
      });
      expect(done.stdout).not.toContain('::error::');
      expect(done.code).toBe(0);
      expect(readdirSync(dest).some((f) => f.endsWith('.manifest.json'))).toBe(true);
      expect(leftoversIn(dest)).toEqual([]);
    },
    120_000,
  );

  it('needs no confirm for a database that holds nothing', async () => {
    await pg.psql('DROP DATABASE IF EXISTS empty_one; CREATE DATABASE empty_one');
    const run = await runAction('db-restore', {
      'database-url': pg.url('empty_one'),
      source: appBackup,
      mode: 'clean',
      'allow-other-database': 'true',
      'pre-restore-backup': 'off',
    });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    expect(await rowCounts(pg, 'empty_one')).toEqual(await rowCounts(pg, 'app'));
  }, 120_000);
});

describe('the pre-restore backup is encrypted as the source', () => {
  it('to the same age recipient, and refuses when a recipient has no identity in decrypt-with', async () => {
    const { generateIdentity, identityToRecipient } = await import('age-encryption');
    const [a, b] = [await generateIdentity(), await generateIdentity()];
    const dest = path.join(dir.path, 'age-src');
    const encrypted = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      'encrypt-to': await identityToRecipient(a),
    });
    expect(encrypted.code).toBe(0);
    await makeTarget('secret_shop');
    const run = await runAction('db-restore', {
      'database-url': pg.url('secret_shop'),
      source: encrypted.outputs.uri!,
      'decrypt-with': a,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: 'secret_shop',
    });
    expect(run.stdout).not.toContain('::error::');
    expect(run.code).toBe(0);
    const pre = readdirSync(path.join(dest, 'pre-restore'));
    const archive = pre.find((f) => /^pre-restore-secret_shop-.*\.dump\.zst\.age$/.test(f));
    expect(archive).toBeDefined();
    const bytes = readFileSync(path.join(dest, 'pre-restore', archive!));
    expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(bytes.includes(Buffer.from('marker'))).toBe(false);
    const manifest = JSON.parse(
      readFileSync(
        path.join(
          dest,
          'pre-restore',
          pre.find((f) => f.endsWith('.manifest.json'))!,
        ),
        'utf8',
      ),
    );
    const source = JSON.parse(readFileSync(new URL(encrypted.outputs.manifest!).pathname, 'utf8'));
    expect(manifest.encryption).toEqual(source.encryption);

    // Encrypted to two recipients, restored with one identity: the second would be left out.
    const two = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: path.join(dir.path, 'age-two'),
      'encrypt-to': `${await identityToRecipient(a)}\n${await identityToRecipient(b)}`,
    });
    expect(two.code).toBe(0);
    await makeTarget('secret_two');
    const fp = await fingerprint(pg, 'secret_two');
    const refused = await runAction('db-restore', {
      'database-url': pg.url('secret_two'),
      source: two.outputs.uri!,
      'decrypt-with': a,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: 'secret_two',
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/input 'decrypt-with': the pre-restore backup is encrypted to the same recipients/);
    expect(refused.visible).not.toContain(a);
    expect(await fingerprint(pg, 'secret_two')).toEqual(fp);
    expect(await opskitDatabases(pg)).toEqual([]);
  }, 240_000);

  it('with the same passphrase', async () => {
    const passphrase = 'pre-restore passphrase 7';
    const dest = path.join(dir.path, 'pass-src');
    const encrypted = await runAction('db-backup', {
      'database-url': pg.url('app'),
      destination: dest,
      'encryption-passphrase': passphrase,
    });
    expect(encrypted.code).toBe(0);
    await makeTarget('pass_shop');
    const run = await runAction('db-restore', {
      'database-url': pg.url('pass_shop'),
      source: encrypted.outputs.uri!,
      'encryption-passphrase': passphrase,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: 'pass_shop',
    });
    expect(run.code).toBe(0);
    expect(run.visible).not.toContain(passphrase);
    const pre = readdirSync(path.join(dest, 'pre-restore'));
    const archive = pre.find((f) => f.endsWith('.age'))!;
    expect(
      readFileSync(path.join(dest, 'pre-restore', archive))
        .subarray(0, 21)
        .toString(),
    ).toBe('age-encryption.org/v1');
    // and it restores with that passphrase
    const back = await runAction('db-restore', {
      'database-url': pg.url('postgres'),
      source: path.join(dest, 'pre-restore', archive),
      'encryption-passphrase': passphrase,
      'target-database': 'pass_back',
    });
    expect(back.code).toBe(0);
    expect(await pg.psql('SELECT note FROM marker', 'pass_back')).toBe('before restore');
  }, 240_000);
});

describe('an interrupted swap', () => {
  it('is put right by the next run: the previous database renamed back, the unfinished restore dropped', async () => {
    await makeTarget('torn');
    const fp = await fingerprint(pg, 'torn');
    // What a crash between two separate renames would leave: the target gone, its old self renamed,
    // and an unfinished restore beside it.
    await pg.psql('ALTER DATABASE torn RENAME TO torn__opskit_previous; CREATE DATABASE torn__opskit_restore');
    const refused = await runAction('db-restore', {
      'database-url': pg.url('torn'),
      source: appBackup,
      mode: 'clean',
      'allow-other-database': 'true',
    });
    expect(refused.stdout).toContain(
      'found torn__opskit_previous but no torn (an interrupted swap): renamed torn__opskit_previous back to torn',
    );
    expect(refused.stdout).toContain('dropped torn__opskit_restore, the unfinished restore of an interrupted run');
    // Back as it was, so confirm is asked for again.
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("set confirm to 'torn'");
    expect(await fingerprint(pg, 'torn')).toEqual(fp);
    expect(await opskitDatabases(pg)).toEqual([]);
  }, 120_000);

  it('uses side names within 63 bytes for a long database name', async () => {
    const db = `long_${'x'.repeat(55)}`;
    await pg.psql(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}`);
    await pg.psql('CREATE TABLE marker (note text)', db);
    const run = await runAction('db-restore', {
      'database-url': pg.url(db),
      source: appBackup,
      mode: 'clean',
      'allow-other-database': 'true',
      confirm: db,
      'keep-previous': 'true',
    });
    expect(run.code).toBe(0);
    const previous = await opskitDatabases(pg);
    expect(previous).toHaveLength(1);
    expect(previous[0]).toMatch(/^long_x+_[0-9a-f]{8}__opskit_previous$/);
    expect(Buffer.byteLength(previous[0]!)).toBeLessThanOrEqual(63);
    await pg.psql(`DROP DATABASE "${previous[0]}"`);
  }, 120_000);
});
