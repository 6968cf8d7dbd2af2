import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../src/errors.js';
import { formatFindings, lintSql, type LintRule } from '../../src/migrate/lint.js';
import { splitStatements, SqlSyntaxError, stripComments, tokenize } from '../../src/migrate/sql-split.js';

type Expected = { text: string; line: number }[];

describe('splitStatements', () => {
  const cases: [string, string, Expected][] = [
    [
      'statements on their own lines, trailing semicolon and whitespace excluded',
      'CREATE TABLE a (id int);\n\nCREATE TABLE b (id int)  ;\n',
      [
        { text: 'CREATE TABLE a (id int)', line: 1 },
        { text: 'CREATE TABLE b (id int)', line: 3 },
      ],
    ],
    ['a last statement without a semicolon', 'SELECT 1;\nSELECT 2', [st('SELECT 1', 1), st('SELECT 2', 2)]],
    [
      'several statements on one line',
      'SELECT 1; SELECT 2;SELECT 3;',
      [st('SELECT 1', 1), st('SELECT 2', 1), st('SELECT 3', 1)],
    ],
    ['empty statements dropped', ';;\n ; SELECT 1;;;\n;', [st('SELECT 1', 2)]],
    ['a comment-only file has no statements', '-- opskit:no-transaction\n/* nothing; here */\n', []],
    [
      'line is where the first non-comment character is; leading comments excluded',
      '-- opskit:no-transaction\n/* header;\n   more; */\n\n  CREATE INDEX CONCURRENTLY i ON t (a);\n',
      [st('CREATE INDEX CONCURRENTLY i ON t (a)', 5)],
    ],
    [
      'comments inside a statement kept, trailing ones after the semicolon dropped',
      'SELECT 1 -- one; two\n  , /* three; */ 2; -- after;\n',
      [st('SELECT 1 -- one; two\n  , /* three; */ 2', 1)],
    ],
    [
      'a comment between the last token and the semicolon is not part of the text',
      'SELECT 1 -- note\n;\nSELECT 2;',
      [st('SELECT 1', 1), st('SELECT 2', 3)],
    ],
    [
      'nested block comments',
      '/* outer /* inner; */ still comment; */ SELECT 1; /* a /* b /* c */ */ ; */\nSELECT 2;',
      [st('SELECT 1', 1), st('SELECT 2', 2)],
    ],
    [
      "single-quoted strings with '' escapes",
      "INSERT INTO t VALUES ('it''s; fine', ';');\nSELECT ''';';",
      [st("INSERT INTO t VALUES ('it''s; fine', ';')", 1), st("SELECT ''';'", 2)],
    ],
    [
      'a backslash is an ordinary character in a standard string',
      "SELECT 'C:\\'; SELECT 2;",
      [st("SELECT 'C:\\'", 1), st('SELECT 2', 1)],
    ],
    [
      "E'' strings with backslash escapes",
      "SELECT E'it\\'s; \\\\'; SELECT e'\\';'; SELECT 3;",
      [st("SELECT E'it\\'s; \\\\'", 1), st("SELECT e'\\';'", 1), st('SELECT 3', 1)],
    ],
    [
      'an identifier ending in e before a quote is not an E string',
      "SELECT date'2024-01-01\\'; SELECT 2;",
      [st("SELECT date'2024-01-01\\'", 1), st('SELECT 2', 1)],
    ],
    [
      'double-quoted identifiers with "" escapes',
      'CREATE TABLE "a;""b" ("x;" int);\nSELECT "--not a comment" FROM t;',
      [st('CREATE TABLE "a;""b" ("x;" int)', 1), st('SELECT "--not a comment" FROM t', 2)],
    ],
    [
      'quotes inside comments do not open strings',
      "-- it's\nSELECT 1; /* don't */ SELECT 2;",
      [st('SELECT 1', 2), st('SELECT 2', 2)],
    ],
    [
      'comment markers inside strings are not comments',
      "SELECT '-- x; /*'; SELECT 2;",
      [st("SELECT '-- x; /*'", 1), st('SELECT 2', 1)],
    ],
    [
      '$$ dollar-quoted function body',
      "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM t; -- it's\nEND;\n$$;\nSELECT 2;",
      [
        st("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM t; -- it's\nEND;\n$$", 1),
        st('SELECT 2', 6),
      ],
    ],
    [
      '$tag$ dollar quotes containing $$ and other tags',
      'DO $outer$ BEGIN EXECUTE $$SELECT 1;$$; PERFORM $in$;$in$; END $outer$;\nSELECT 2;',
      [st('DO $outer$ BEGIN EXECUTE $$SELECT 1;$$; PERFORM $in$;$in$; END $outer$', 1), st('SELECT 2', 2)],
    ],
    [
      'a dollar quote right after a keyword',
      'DO $body$BEGIN NULL; END$body$; SELECT 2;',
      [st('DO $body$BEGIN NULL; END$body$', 1), st('SELECT 2', 1)],
    ],
    [
      '$1 parameters are not dollar quotes',
      'PREPARE p(int, int) AS SELECT $1; SELECT $2;\nEXECUTE p(1, 2);',
      [st('PREPARE p(int, int) AS SELECT $1', 1), st('SELECT $2', 1), st('EXECUTE p(1, 2)', 2)],
    ],
    [
      '$ inside an identifier does not open a dollar quote',
      'SELECT a$b$c FROM t; SELECT 2;',
      [st('SELECT a$b$c FROM t', 1), st('SELECT 2', 1)],
    ],
    [
      'BEGIN ATOMIC function body kept whole, CASE … END inside it',
      [
        'CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql',
        'BEGIN ATOMIC',
        '  INSERT INTO log VALUES (a);',
        '  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;',
        'END;',
        'SELECT f(1);',
      ].join('\n'),
      [
        st(
          'CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  INSERT INTO log VALUES (a);\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\nEND',
          1,
        ),
        st('SELECT f(1)', 6),
      ],
    ],
    [
      'CREATE OR REPLACE PROCEDURE … BEGIN ATOMIC',
      'create or replace procedure p() begin atomic delete from t where true; update t set a = 1; end; call p();',
      [
        st('create or replace procedure p() begin atomic delete from t where true; update t set a = 1; end', 1),
        st('call p()', 1),
      ],
    ],
    [
      'BEGIN outside a routine definition is a transaction statement',
      'BEGIN;\nSELECT CASE WHEN true THEN 1 END;\nEND;\nSELECT 2;',
      [st('BEGIN', 1), st('SELECT CASE WHEN true THEN 1 END', 2), st('END', 3), st('SELECT 2', 4)],
    ],
    [
      'semicolons inside parentheses do not split (multi-action rules, as psql)',
      'CREATE RULE r AS ON INSERT TO v DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 2;',
      [
        st('CREATE RULE r AS ON INSERT TO v DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))', 1),
        st('SELECT 2', 2),
      ],
    ],
    [
      'a line starting with a backslash inside strings and dollar quotes is not a meta-command',
      "SELECT E'a\n\\\\b';\nSELECT $$\n\\connect x\n$$;",
      [st("SELECT E'a\n\\\\b'", 1), st('SELECT $$\n\\connect x\n$$', 3)],
    ],
    ['CRLF line endings', 'SELECT 1;\r\n\r\n-- c\r\nSELECT\r\n  2;\r\n', [st('SELECT 1', 1), st('SELECT\r\n  2', 4)]],
    ['a byte-order mark is whitespace', '\uFEFFSELECT 1;\nSELECT 2;', [st('SELECT 1', 1), st('SELECT 2', 2)]],
    [
      "U&'' strings and non-ASCII identifiers",
      "SELECT U&'d\\0061t;' AS donnée; SELECT 2;",
      [st("SELECT U&'d\\0061t;' AS donnée", 1), st('SELECT 2', 1)],
    ],
  ];

  it.each(cases)('%s', (_name, sql, expected) => {
    expect(splitStatements(sql)).toEqual(expected);
  });

  const errors: [string, string, RegExp][] = [
    [
      'a psql meta-command at the start of a line',
      'SELECT 1;\n\\connect other\nSELECT 2;',
      /^line 2: psql meta-commands like \\connect are not SQL \(found '\\connect other'\)$/,
    ],
    [
      'an indented meta-command',
      'SELECT 1;\n\n  \\set ON_ERROR_STOP on\n',
      /^line 3: psql meta-commands like \\connect/,
    ],
    ['a meta-command after a statement', 'SELECT 1 \\gset\n', /^line 1: psql meta-commands like \\connect/],
    [
      'an unterminated string, at the line it starts',
      "SELECT 1;\nSELECT 'abc;\nSELECT 2;",
      /^line 2: unterminated quoted string$/,
    ],
    ['an unterminated E string', "SELECT E'abc\\';", /^line 1: unterminated E'' string$/],
    ['an unterminated identifier', 'SELECT 1;\n\nSELECT "abc;', /^line 3: unterminated quoted identifier$/],
    ['an unterminated block comment', '/* a /* b */\nSELECT 1;', /^line 1: unterminated \/\* comment$/],
    [
      'an unterminated dollar quote',
      'SELECT 1;\nDO $x$ BEGIN END $$;',
      /^line 2: unterminated dollar-quoted string \$x\$$/,
    ],
  ];

  it.each(errors)('throws for %s', (_name, sql, message) => {
    expect(() => splitStatements(sql)).toThrow(message);
  });

  it('throws a ConfigurationError carrying the line, naming the file when given', () => {
    let caught: unknown;
    try {
      splitStatements('SELECT 1;\n\\i other.sql\n', '002_x.sql');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SqlSyntaxError);
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect(caught).toMatchObject({ line: 2, file: '002_x.sql' });
    expect((caught as Error).message).toBe(
      "002_x.sql:2: psql meta-commands like \\connect are not SQL (found '\\i other.sql')",
    );
  });
});

describe('tokenize', () => {
  it('classifies tokens and gives their lines', () => {
    const tokens = tokenize('SELECT $1, E\'x\', "Y",\n $t$z$t$, 1.5 -- c\n FROM a$b;');
    expect(tokens.map((t) => [t.kind, t.text, t.line])).toEqual([
      ['word', 'SELECT', 1],
      ['parameter', '$1', 1],
      ['punct', ',', 1],
      ['string', "E'x'", 1],
      ['punct', ',', 1],
      ['quoted-identifier', '"Y"', 1],
      ['punct', ',', 1],
      ['dollar-string', '$t$z$t$', 2],
      ['punct', ',', 2],
      ['number', '1.5', 2],
      ['word', 'FROM', 3],
      ['word', 'a$b', 3],
      ['punct', ';', 3],
    ]);
  });
});

describe('stripComments', () => {
  const cases: [string, string, string][] = [
    ['line comments', 'SELECT 1 -- DROP TABLE x\n', `SELECT 1${sp(16)}\n`],
    ['nested block comments, newlines kept', 'a /* x /* y */\n z */ b', `a${sp(13)}\n${sp(6)}b`],
    ['string contents', "SELECT 'DROP TABLE users'", "SELECT '                '"],
    ["E'' string contents", "SELECT E'it\\'s drop'", `SELECT E'${sp(10)}'`],
    ['quoted identifier contents', 'SELECT "drop table"', 'SELECT "          "'],
    ['dollar-quoted contents', 'AS $f$ TRUNCATE x; $f$;', 'AS $f$             $f$;'],
    ['multi-line strings keep their line breaks', "SELECT 'a\nDROP'", "SELECT ' \n    '"],
    ["'' escapes inside a string", "SELECT 'it''s DROP', 'x'", `SELECT '${sp(10)}', ' '`],
    ['"" escapes inside an identifier', 'SELECT "a""DROP" FROM t', `SELECT "${sp(7)}" FROM t`],
    ["\\' and '' escapes in an E string", "SELECT E'a\\' '' DROP', 1", `SELECT E'${sp(11)}', 1`],
    ['code left alone', 'ALTER TABLE t DROP COLUMN c', 'ALTER TABLE t DROP COLUMN c'],
  ];

  it.each(cases)('blanks %s', (_name, input, expected) => {
    const stripped = stripComments(input);
    expect(stripped).toBe(expected);
    expect(stripped).toHaveLength(input.length);
  });
});

describe('lintSql', () => {
  const lint = (sql: string) => lintSql('001_init.sql', sql).map((f) => [f.rule, f.line]);

  const flagged: [string, string, [LintRule, number][]][] = [
    ['DROP TABLE', '\n\nDROP TABLE users;', [['drop-table', 3]]],
    ['drop table, any case', 'drop table Users', [['drop-table', 1]]],
    ['DROP TABLE IF EXISTS a, b CASCADE (one finding)', 'DROP TABLE IF EXISTS a, b CASCADE;', [['drop-table', 1]]],
    ['DROP COLUMN', 'ALTER TABLE users DROP COLUMN email;', [['drop-column', 1]]],
    [
      'DROP COLUMN on the third line of a multi-line ALTER TABLE',
      'SELECT 1;\nALTER TABLE users\n  ADD COLUMN nickname text,\n  DROP COLUMN email;',
      [['drop-column', 4]],
    ],
    ['DROP without COLUMN', 'ALTER TABLE users DROP email CASCADE;', [['drop-column', 1]]],
    ['DROP COLUMN IF EXISTS', 'ALTER TABLE users DROP COLUMN IF EXISTS email;', [['drop-column', 1]]],
    ['DROP IF EXISTS without COLUMN', 'ALTER TABLE users DROP IF EXISTS email;', [['drop-column', 1]]],
    ['ALTER TABLE IF EXISTS ONLY', 'ALTER TABLE IF EXISTS ONLY public.users DROP email;', [['drop-column', 1]]],
    ['quoted names', 'ALTER TABLE "Public"."Users" * DROP COLUMN "E-mail";', [['drop-column', 1]]],
    ['a column named identity (unreserved word)', 'ALTER TABLE t DROP identity;', [['drop-column', 1]]],
    [
      'multiple actions in one ALTER TABLE',
      [
        'ALTER TABLE t',
        '  ADD COLUMN x numeric(10, 2) DEFAULT 0,',
        '  DROP COLUMN y,',
        '  ALTER COLUMN z TYPE bigint,',
        '  DROP CONSTRAINT t_k,',
        '  ALTER COLUMN w DROP DEFAULT,',
        '  DROP v;',
      ].join('\n'),
      [
        ['drop-column', 3],
        ['alter-column-type', 4],
        ['drop-column', 7],
      ],
    ],
    [
      'ALTER COLUMN … TYPE',
      'ALTER TABLE t ALTER COLUMN amount TYPE numeric(12, 2) USING amount::numeric;',
      [['alter-column-type', 1]],
    ],
    ['ALTER … TYPE without COLUMN', 'ALTER TABLE t ALTER amount TYPE bigint;', [['alter-column-type', 1]]],
    [
      'ALTER COLUMN … SET DATA TYPE',
      'ALTER TABLE t\n  ALTER COLUMN amount SET DATA TYPE bigint;',
      [['alter-column-type', 2]],
    ],
    ['a column named type', 'ALTER TABLE t ALTER COLUMN type TYPE text;', [['alter-column-type', 1]]],
    ['DROP SCHEMA', 'DROP SCHEMA legacy;', [['drop-schema', 1]]],
    ['DROP SCHEMA … CASCADE', '-- bye\nDROP SCHEMA IF EXISTS legacy, old CASCADE;', [['drop-schema', 2]]],
    ['TRUNCATE', 'TRUNCATE users;', [['truncate', 1]]],
    ['TRUNCATE TABLE', 'SELECT 1;\n\nTRUNCATE TABLE ONLY a, b RESTART IDENTITY CASCADE;', [['truncate', 3]]],
    ['DELETE without WHERE', 'DELETE FROM sessions;', [['delete-without-where', 1]]],
    ['DELETE FROM ONLY … AS', 'DELETE FROM ONLY sessions AS s;', [['delete-without-where', 1]]],
    [
      'DELETE whose only WHERE is inside a USING subquery',
      'DELETE FROM sessions s\n  USING (SELECT id FROM users WHERE banned) b;',
      [['delete-without-where', 1]],
    ],
    ['UPDATE without WHERE', 'UPDATE users SET active = true;', [['update-without-where', 1]]],
    ['UPDATE ONLY … AS alias', 'UPDATE ONLY public.users AS u SET active = true;', [['update-without-where', 1]]],
    ['UPDATE of a quoted table', 'UPDATE "Users" SET "where" = 1;', [['update-without-where', 1]]],
    [
      'UPDATE whose only WHERE is inside a subquery',
      'UPDATE accounts SET balance = (SELECT sum(x) FROM ledger WHERE ledger.id = accounts.id);',
      [['update-without-where', 1]],
    ],
    [
      'UPDATE … FROM whose only WHERE is inside a subquery',
      'UPDATE a SET x = b.x FROM (SELECT * FROM b WHERE b.ok) AS b;',
      [['update-without-where', 1]],
    ],
    [
      'a DELETE without WHERE in a CTE',
      'WITH d AS (\n  DELETE FROM x RETURNING *\n)\nINSERT INTO archive SELECT * FROM d;',
      [['delete-without-where', 2]],
    ],
    [
      'an UPDATE without WHERE in a CTE, with WHERE in the main query',
      'WITH u AS NOT MATERIALIZED (UPDATE x SET a = 1 RETURNING id)\nSELECT * FROM u WHERE id > 0;',
      [['update-without-where', 1]],
    ],
    [
      'a main DELETE without WHERE after a CTE with one',
      'WITH old AS (SELECT id FROM x WHERE stale)\nDELETE FROM y;',
      [['delete-without-where', 2]],
    ],
    ['a prepared DELETE', 'PREPARE purge AS DELETE FROM x;\nEXECUTE purge;', [['delete-without-where', 1]]],
    ['EXPLAIN ANALYZE runs the DELETE', 'EXPLAIN ANALYZE DELETE FROM x;', [['delete-without-where', 1]]],
    [
      'EXPLAIN (ANALYZE) runs the UPDATE',
      'EXPLAIN (ANALYZE, BUFFERS) UPDATE x SET a = 1;',
      [['update-without-where', 1]],
    ],
    [
      'each statement of a file at its own line',
      [
        '-- opskit:no-transaction',
        'CREATE TABLE t (id int); DROP TABLE old;',
        '/* cleanup */',
        "UPDATE t SET note = 'x;y';",
        '',
        'DELETE',
        '  FROM t;',
      ].join('\n'),
      [
        ['drop-table', 2],
        ['update-without-where', 4],
        ['delete-without-where', 6],
      ],
    ],
    [
      'a string that swallows no statement: the DROP after it is still seen',
      "INSERT INTO t VALUES ('it''s'); DROP TABLE t;",
      [['drop-table', 1]],
    ],
  ];

  it.each(flagged)('flags %s', (_name, sql, expected) => {
    expect(lint(sql)).toEqual(expected);
  });

  // Each trap is followed by a real destructive statement, so a trap that swallows or breaks the
  // rest of the file fails too: exactly one finding, for the sentinel, is expected.
  const clean: [string, string][] = [
    ['DROP INDEX', 'DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;'],
    ['DROP VIEW and DROP MATERIALIZED VIEW', 'DROP VIEW v; DROP MATERIALIZED VIEW mv;'],
    ['DROP FUNCTION', 'DROP FUNCTION IF EXISTS f(int);'],
    ['DROP TABLESPACE, DROP SCHEMA-like names', 'DROP TABLESPACE ts; DROP SEQUENCE schema_seq;'],
    ['drop and truncate in names', 'CREATE TABLE drop_log (truncate_at timestamptz, delete_me bool);'],
    [
      'destructive words in strings and comments of CREATE TABLE',
      "CREATE TABLE audit (\n  -- DROP TABLE users;\n  action text DEFAULT 'drop table users', /* TRUNCATE x; */\n  note text DEFAULT E'delete from x\\'s'\n);",
    ],
    ['COMMENT ON … IS', "COMMENT ON TABLE users IS 'drop table users; delete from users';"],
    ['a quoted identifier', 'SELECT 1 AS "DROP TABLE users";'],
    [
      'a dollar-quoted function body',
      'CREATE OR REPLACE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n  DELETE FROM sessions;\n  TRUNCATE audit;\n  DROP TABLE tmp;\nEND\n$$;',
    ],
    [
      'a BEGIN ATOMIC procedure body',
      'CREATE PROCEDURE purge() LANGUAGE sql\nBEGIN ATOMIC\n  DELETE FROM sessions;\n  UPDATE users SET active = false;\nEND;',
    ],
    ['a rule action', 'CREATE RULE no_delete AS ON DELETE TO v DO INSTEAD DELETE FROM t;'],
    [
      'a multi-action rule',
      'CREATE OR REPLACE RULE r AS ON UPDATE TO v DO INSTEAD (DELETE FROM a; UPDATE b SET x = 1);',
    ],
    ['a column named drop in a constraint', 'ALTER TABLE t ADD CONSTRAINT u UNIQUE (a, drop), ADD COLUMN b int;'],
    ['DELETE with WHERE', 'DELETE FROM sessions WHERE expires_at < now();'],
    ['DELETE … USING … WHERE', 'DELETE FROM sessions s USING users u WHERE s.user_id = u.id AND u.banned;'],
    ['DELETE … WHERE CURRENT OF', 'DELETE FROM t WHERE CURRENT OF c;'],
    ['UPDATE with WHERE', "UPDATE users SET active = false WHERE last_login < now() - interval '1 year';"],
    [
      'UPDATE with a subquery and its own WHERE',
      'UPDATE a SET x = (SELECT max(y) FROM b WHERE b.id = a.id) WHERE a.x IS NULL;',
    ],
    [
      'a data-modifying CTE with WHERE',
      'WITH d AS (DELETE FROM x WHERE old RETURNING *) INSERT INTO archive SELECT * FROM d;',
    ],
    [
      'INSERT … ON CONFLICT DO UPDATE',
      'INSERT INTO t (id, x) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET x = excluded.x;',
    ],
    ['SELECT … FOR UPDATE', 'SELECT * FROM t WHERE id IN (1, 2) FOR UPDATE;'],
    [
      'foreign key actions',
      'ALTER TABLE t ADD CONSTRAINT t_fk FOREIGN KEY (a) REFERENCES b (id) ON DELETE CASCADE ON UPDATE SET NULL;',
    ],
    ['GRANT', 'GRANT SELECT, UPDATE (a), DELETE, TRUNCATE ON t TO app;'],
    [
      'triggers',
      'CREATE TRIGGER trg BEFORE UPDATE OR DELETE OR TRUNCATE ON t FOR EACH STATEMENT EXECUTE FUNCTION f();',
    ],
    ['policies', 'CREATE POLICY p ON t FOR DELETE USING (owner = current_user);'],
    [
      'MERGE actions',
      'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.gone THEN DELETE WHEN MATCHED THEN UPDATE SET x = s.x;',
    ],
    ['ALTER COLUMN … DROP DEFAULT', 'ALTER TABLE t ALTER COLUMN c DROP DEFAULT;'],
    ['ALTER … DROP NOT NULL', 'ALTER TABLE t ALTER c DROP NOT NULL;'],
    ['ALTER COLUMN … DROP IDENTITY', 'ALTER TABLE t ALTER COLUMN id DROP IDENTITY IF EXISTS;'],
    ['ALTER COLUMN … DROP EXPRESSION', 'ALTER TABLE t ALTER COLUMN total DROP EXPRESSION;'],
    ['DROP CONSTRAINT', 'ALTER TABLE IF EXISTS t DROP CONSTRAINT IF EXISTS t_fk;'],
    ['ALTER CONSTRAINT', 'ALTER TABLE t ALTER CONSTRAINT t_fk DEFERRABLE;'],
    ['ALTER COLUMN … SET (not a type)', "ALTER TABLE t ALTER COLUMN c SET DEFAULT 'type', ALTER c SET STATISTICS 100;"],
    ['ALTER TYPE', "ALTER TYPE mood ADD VALUE 'meh';"],
    ['RENAME COLUMN', 'ALTER TABLE t RENAME COLUMN drop_me TO kept;'],
  ];

  it.each(clean)('does not flag %s', (_name, sql) => {
    expect(lint(`${sql}\nDELETE FROM sentinel;`)).toEqual([['delete-without-where', sql.split('\n').length + 1]]);
  });

  it('builds the finding: file, statement excerpt on one line, message', () => {
    const sql = [
      'SELECT 1;',
      'ALTER TABLE users -- the big one',
      '  ADD COLUMN a_rather_long_column_name_to_push_past_eighty text,',
      '  DROP COLUMN email;',
    ].join('\n');
    expect(lintSql('001_init.sql', sql)).toEqual([
      {
        file: '001_init.sql',
        line: 4,
        rule: 'drop-column',
        statement: 'ALTER TABLE users ADD COLUMN a_rather_long_column_name_to_push_past_eighty text,',
        message: '001_init.sql:4: DROP COLUMN loses data (drop-column); set allow-destructive: true if intended',
      },
    ]);
  });

  it('keeps a short statement whole', () => {
    expect(lintSql('x.sql', 'TRUNCATE\n  t')[0]?.statement).toBe('TRUNCATE t');
  });

  it('names the file in lexing errors', () => {
    expect(() => lintSql('003_x.sql', 'SELECT 1;\n\\connect other\n')).toThrow(
      "003_x.sql:2: psql meta-commands like \\connect are not SQL (found '\\connect other')",
    );
  });

  it('finds nothing in an empty file', () => {
    expect(lintSql('x.sql', '-- nothing\n')).toEqual([]);
  });
});

describe('formatFindings', () => {
  it('gives one finding per line', () => {
    const findings = lintSql('002_cleanup.sql', 'DELETE FROM a;\nTRUNCATE b;\nUPDATE c SET d = 1;');
    expect(formatFindings(findings)).toBe(
      [
        '002_cleanup.sql:1: DELETE without WHERE deletes every row (delete-without-where); set allow-destructive: true if intended',
        '002_cleanup.sql:2: TRUNCATE deletes every row (truncate); set allow-destructive: true if intended',
        '002_cleanup.sql:3: UPDATE without WHERE changes every row (update-without-where); set allow-destructive: true if intended',
      ].join('\n'),
    );
  });

  it('is empty for no findings', () => {
    expect(formatFindings([])).toBe('');
  });
});

function sp(n: number): string {
  return ' '.repeat(n);
}

function st(text: string, line: number): { text: string; line: number } {
  return { text, line };
}
