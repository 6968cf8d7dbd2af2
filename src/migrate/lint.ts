/**
 * The destructive-statement lint of migrate-with-backup (`lint: error | warn | off`).
 *
 * Flags, with file and line, statements that lose or rewrite data:
 * - drop-table: `DROP TABLE [IF EXISTS] a, b [CASCADE]`
 * - drop-column: `ALTER TABLE [IF EXISTS] [ONLY] t … DROP [COLUMN] [IF EXISTS] c` (any action of a
 *   multi-action ALTER TABLE; not `DROP CONSTRAINT`, nor `ALTER [COLUMN] c DROP DEFAULT | NOT NULL |
 *   IDENTITY | EXPRESSION`, which are actions on a column that stays)
 * - drop-schema: `DROP SCHEMA … [CASCADE]`
 * - truncate: `TRUNCATE [TABLE] …`
 * - alter-column-type: `ALTER TABLE … ALTER [COLUMN] c TYPE …` / `… SET DATA TYPE …`
 * - delete-without-where / update-without-where: a DELETE or UPDATE with no WHERE of its own, at the
 *   top level of the statement or as a data-modifying CTE (`WITH d AS (DELETE FROM x RETURNING *) …`).
 *   A WHERE in a parenthesised subquery (`USING (SELECT … WHERE …)`, `SET a = (SELECT … WHERE …)`)
 *   belongs to the subquery, not to the DELETE or UPDATE.
 *
 * It works on tokens (sql-split.ts), so words in comments, strings, quoted identifiers and
 * dollar-quoted strings are never keywords: `COMMENT ON TABLE t IS 'drop table users'` is clean.
 *
 * Not linted, because it does not run at migration time:
 * - function and procedure bodies, whether dollar-quoted (`AS $$ DELETE FROM x $$`, opaque tokens) or
 *   SQL-standard (`BEGIN ATOMIC DELETE FROM x; END`): a CREATE [OR REPLACE] FUNCTION|PROCEDURE
 *   statement is skipped as a whole;
 * - rule actions (`CREATE RULE … DO INSTEAD DELETE FROM x`): the statement is skipped as a whole.
 * Known gap: a `DO $$ … $$` block does run at migration time, but its PL/pgSQL body is opaque here.
 */
import { splitStatements, blankComments, tokenize, type SqlToken } from './sql-split.js';

export type LintRule =
  | 'drop-table'
  | 'drop-column'
  | 'drop-schema'
  | 'truncate'
  | 'alter-column-type'
  | 'delete-without-where'
  | 'update-without-where';

export interface LintFinding {
  /** The file name as given to lintSql. */
  file: string;
  /** 1-based line in the file of the offending keyword (DROP, TRUNCATE, the action's ALTER, DELETE, UPDATE). */
  line: number;
  rule: LintRule;
  /** The first 80 characters of the whole statement, comments removed and whitespace collapsed to one line. */
  statement: string;
  /** `001_init.sql:12: DROP COLUMN loses data (drop-column); set allow-destructive: true if intended` */
  message: string;
}

const WHAT: Record<LintRule, string> = {
  'drop-table': 'DROP TABLE loses data',
  'drop-column': 'DROP COLUMN loses data',
  'drop-schema': 'DROP SCHEMA loses data',
  truncate: 'TRUNCATE deletes every row',
  'alter-column-type': 'ALTER COLUMN TYPE can lose data and rewrites the table',
  'delete-without-where': 'DELETE without WHERE deletes every row',
  'update-without-where': 'UPDATE without WHERE changes every row',
};

/**
 * The destructive statements of one migration file, in file order. `file` names the file in the
 * findings. Throws a SqlSyntaxError (a ConfigurationError naming file and line) if the file cannot
 * be lexed: unterminated string or comment, psql meta-command.
 */
export function lintSql(file: string, sql: string): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const statement of splitStatements(sql, file)) {
    let excerpt: string | undefined;
    const report = (rule: LintRule, line: number) => {
      excerpt ??= oneLine(statement.text);
      findings.push({
        file,
        line,
        rule,
        statement: excerpt,
        message: `${file}:${line}: ${WHAT[rule]} (${rule}); set allow-destructive: true if intended`,
      });
    };
    const tokens = tokenize(statement.text, file).map((t) => ({ ...t, line: t.line + statement.line - 1 }));
    lintStatement(new Tokens(tokens), report);
  }
  return findings;
}

/** One finding per line: its message. Empty string for no findings. */
export function formatFindings(findings: readonly LintFinding[]): string {
  return findings.map((f) => f.message).join('\n');
}

/** Tokens of one statement with their parenthesis depth: `(` and `)` are at the outer depth. */
class Tokens {
  readonly depth: number[] = [];

  constructor(readonly list: SqlToken[]) {
    let depth = 0;
    for (const t of list) {
      if (t.kind === 'punct' && t.text === ')' && depth > 0) depth--;
      this.depth.push(depth);
      if (t.kind === 'punct' && t.text === '(') depth++;
    }
  }

  get length(): number {
    return this.list.length;
  }

  /** The upper-cased keyword or unquoted identifier at `i`; '' for anything else or out of range. */
  word(i: number): string {
    const t = this.list[i];
    return t?.kind === 'word' ? t.text.toUpperCase() : '';
  }

  isPunct(i: number, text: string): boolean {
    const t = this.list[i];
    return t?.kind === 'punct' && t.text === text;
  }

  isName(i: number): boolean {
    const kind = this.list[i]?.kind;
    return kind === 'word' || kind === 'quoted-identifier';
  }

  line(i: number): number {
    return this.list[i]?.line ?? 0;
  }

  /** Index just past a possibly qualified name (`t`, `s.t`, `"S"."T"`) at `i`; `i` if there is none. */
  skipName(i: number): number {
    if (!this.isName(i)) return i;
    let j = i + 1;
    while (this.isPunct(j, '.') && this.isName(j + 1)) j += 2;
    return j;
  }
}

type Report = (rule: LintRule, line: number) => void;

function lintStatement(t: Tokens, report: Report): void {
  if (t.word(0) === 'CREATE') {
    const what = t.word(1) === 'OR' && t.word(2) === 'REPLACE' ? t.word(3) : t.word(1);
    // Bodies of functions and procedures, dollar-quoted or BEGIN ATOMIC, and rule actions run later,
    // when called or triggered, not at migration time: not linted.
    if (what === 'FUNCTION' || what === 'PROCEDURE' || what === 'RULE') return;
  }

  const verb = t.word(0);
  if (verb === 'DROP' && t.word(1) === 'TABLE') report('drop-table', t.line(0));
  if (verb === 'DROP' && t.word(1) === 'SCHEMA') report('drop-schema', t.line(0));
  if (verb === 'TRUNCATE') report('truncate', t.line(0));
  if (verb === 'ALTER' && t.word(1) === 'TABLE') lintAlterTable(t, report);

  for (let k = 0; k < t.length; k++) {
    const word = t.word(k);
    if (word === 'DELETE' && isStatementHead(t, k) && t.word(k + 1) === 'FROM') {
      if (!hasOwnWhere(t, k)) report('delete-without-where', t.line(k));
    } else if (word === 'UPDATE' && isStatementHead(t, k) && isUpdateTarget(t, k + 1)) {
      if (!hasOwnWhere(t, k)) report('update-without-where', t.line(k));
    }
  }
}

/**
 * Whether a DELETE or UPDATE at `k` starts a statement: the statement's start, a data-modifying CTE
 * or `COPY (…)` query (after `(`), the main statement after a WITH list (after `)`), after
 * EXPLAIN [ANALYZE] [VERBOSE] / `EXPLAIN (…)`, the statement of `PREPARE p AS …`, or a statement in a
 * body (after `;` or BEGIN ATOMIC; routine bodies are not linted, see lintStatement). Rules out
 * `ON DELETE CASCADE`, `FOR UPDATE`, `GRANT UPDATE`, `BEFORE UPDATE OR DELETE`, `DO UPDATE SET`
 * (ON CONFLICT), `THEN DELETE` (MERGE), `FOR DELETE` (policies).
 */
function isStatementHead(t: Tokens, k: number): boolean {
  if (k === 0 || t.isPunct(k - 1, '(') || t.isPunct(k - 1, ')') || t.isPunct(k - 1, ';')) return true;
  const before = t.word(k - 1);
  if (before === 'AS') return t.word(0) === 'PREPARE';
  return ['EXPLAIN', 'ANALYZE', 'ANALYSE', 'VERBOSE', 'ATOMIC'].includes(before);
}

/** `[ONLY] name [*] [[AS] alias] SET` at `i`: the rest of an UPDATE statement's head. */
function isUpdateTarget(t: Tokens, i: number): boolean {
  let j = i;
  if (t.word(j) === 'ONLY') j++;
  const afterName = t.skipName(j);
  if (afterName === j) return false;
  j = afterName;
  if (t.isPunct(j, '*')) j++;
  if (t.word(j) === 'AS') j++;
  if (t.word(j) !== 'SET' && t.isName(j)) j++;
  return t.word(j) === 'SET';
}

/** Whether the DELETE/UPDATE at `k` has a WHERE at its own parenthesis depth before its scope closes. */
function hasOwnWhere(t: Tokens, k: number): boolean {
  const depth = t.depth[k] ?? 0;
  for (let j = k + 1; j < t.length && (t.depth[j] ?? 0) >= depth; j++) {
    if (t.depth[j] === depth && t.word(j) === 'WHERE') return true;
  }
  return false;
}

/** `ALTER TABLE [IF EXISTS] [ONLY] name [*] action [, action …]`: DROP [COLUMN] and ALTER [COLUMN] … TYPE actions. */
function lintAlterTable(t: Tokens, report: Report): void {
  let i = 2;
  if (t.word(i) === 'IF' && t.word(i + 1) === 'EXISTS') i += 2;
  if (t.word(i) === 'ONLY') i++;
  i = t.skipName(i);
  if (t.isPunct(i, '*')) i++;

  while (i < t.length) {
    const action = t.word(i);
    if (action === 'DROP') {
      // DROP [COLUMN] [IF EXISTS] c | DROP CONSTRAINT k. CONSTRAINT, DEFAULT and NOT are reserved words,
      // so cannot be an unquoted column name; IDENTITY and EXPRESSION are not: `DROP identity` drops
      // a column named identity (DROP IDENTITY of a column is `ALTER [COLUMN] c DROP IDENTITY`).
      const what = t.word(i + 1);
      if (what !== 'CONSTRAINT' && what !== 'DEFAULT' && what !== 'NOT') report('drop-column', t.line(i));
    } else if (action === 'ALTER' && t.word(i + 1) !== 'CONSTRAINT') {
      // ALTER [COLUMN] c TYPE … | ALTER [COLUMN] c SET DATA TYPE … (COLUMN is reserved: never a column name).
      let j = t.word(i + 1) === 'COLUMN' ? i + 2 : i + 1;
      if (t.isName(j)) j++;
      if (t.word(j) === 'TYPE' || (t.word(j) === 'SET' && t.word(j + 1) === 'DATA' && t.word(j + 2) === 'TYPE')) {
        report('alter-column-type', t.line(i));
      }
    }
    // On to the next action: past the next comma outside parentheses.
    while (i < t.length && !(t.isPunct(i, ',') && t.depth[i] === 0)) i++;
    i++;
  }
}

function oneLine(text: string): string {
  return blankComments(text).replace(/\s+/g, ' ').trim().slice(0, 80);
}
