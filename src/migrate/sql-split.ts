/**
 * A lexer and statement splitter for PostgreSQL migration files.
 *
 * Used to run `-- opskit:no-transaction` files statement by statement (CREATE INDEX CONCURRENTLY
 * cannot run inside a transaction block, and a multi-statement query string is one implicit
 * transaction) and by the destructive-statement lint.
 *
 * It follows the server's lexical rules (scan.l) and psql's rules for where a statement ends
 * (psqlscan.l), so a file splits here the way `psql -f` would split it:
 * - `--` line comments and `/* *\/` block comments, which nest;
 * - `'…'` strings with `''` escapes (backslash is an ordinary character: standard_conforming_strings
 *   has been on by default since PostgreSQL 9.1), and `E'…'` strings where `\'` and `\\` escape;
 * - `"…"` identifiers with `""` escapes;
 * - dollar-quoted strings `$$…$$` and `$tag$…$tag$` (the tag is an identifier without `$`), not to be
 *   confused with parameters (`$1`) or identifiers containing `$` (`a$b$c`);
 * - a `;` ends a statement only outside all of the above, outside parentheses (a multi-action
 *   `CREATE RULE … DO (…; …)`) and outside a `BEGIN ATOMIC … END` body of a
 *   `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (SQL-standard bodies, PostgreSQL 14+). Like psql, inside
 *   such a statement each BEGIN and each CASE (once inside a BEGIN) at parenthesis depth 0 opens a
 *   block that an END closes.
 *
 * psql meta-commands (`\connect`, `\set`, `\i` …) are not SQL; the migration runner sends SQL to the
 * server, so a backslash outside a string is an error naming its line.
 */
import { ConfigurationError } from '../errors.js';

export interface SqlStatement {
  /** The statement without its terminating `;` and surrounding whitespace or comments; comments inside are kept. */
  text: string;
  /** 1-based line of the statement's first character that is neither whitespace nor part of a comment. */
  line: number;
}

export type SqlTokenKind =
  | 'word' // keyword or unquoted identifier: `select`, `users`, `a$b`
  | 'quoted-identifier' // `"My Table"`, `U&"…"` is a word `U`, a `&` and this
  | 'string' // `'…'` or `E'…'` (also the quoted part of B'…', X'…', N'…', U&'…')
  | 'dollar-string' // `$$…$$`, `$fn$…$fn$`
  | 'parameter' // `$1`
  | 'number' // `42`, `1.5`, `1e10`
  | 'punct'; // any other single character: `(`, `)`, `;`, `,`, `.`, `*`, `=`, …

export interface SqlToken {
  kind: SqlTokenKind;
  /** The token exactly as written, quotes included. */
  text: string;
  /** Offset of the first character in the lexed text. */
  start: number;
  /** Offset just past the last character. */
  end: number;
  /** 1-based line of the first character. */
  line: number;
}

/** A migration file that cannot be lexed. `line` is 1-based; the message names it (and the file, if known). */
export class SqlSyntaxError extends ConfigurationError {
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly file?: string,
  ) {
    super(file === undefined ? `line ${line}: ${reason}` : `${file}:${line}: ${reason}`);
  }
}

const META_COMMAND = 'psql meta-commands like \\connect are not SQL';

/**
 * The tokens of `sql`, comments and whitespace left out. Throws a SqlSyntaxError for an unterminated
 * string, identifier, dollar-quoted string or block comment (naming the line where it starts) and for
 * a backslash outside a string (a psql meta-command). `file` only names the file in those errors.
 */
export function tokenize(sql: string, file?: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  const lineAt = lineCounter(sql);
  const n = sql.length;
  const fail = (pos: number, reason: string): never => {
    throw new SqlSyntaxError(lineAt(pos), reason, file);
  };
  const push = (kind: SqlTokenKind, start: number, end: number) => {
    tokens.push({ kind, text: sql.slice(start, end), start, end, line: lineAt(start) });
  };

  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    const start = i;

    if (isSpace(c)) {
      i++;
    } else if (c === DASH && next === DASH) {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? n : newline;
    } else if (c === SLASH && next === STAR) {
      i = endOfBlockComment(sql, i);
      if (i < 0) fail(start, 'unterminated /* comment');
    } else if (c === QUOTE) {
      i = endOfQuoted(sql, i + 1, QUOTE, false);
      if (i < 0) fail(start, 'unterminated quoted string');
      push('string', start, i);
    } else if ((c === UPPER_E || c === LOWER_E) && next === QUOTE) {
      // Tokens are maximal, so an E here is not the tail of a longer identifier.
      i = endOfQuoted(sql, i + 2, QUOTE, true);
      if (i < 0) fail(start, "unterminated E'' string");
      push('string', start, i);
    } else if (c === DOUBLE_QUOTE) {
      i = endOfQuoted(sql, i + 1, DOUBLE_QUOTE, false);
      if (i < 0) fail(start, 'unterminated quoted identifier');
      push('quoted-identifier', start, i);
    } else if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentCont(sql.charCodeAt(i))) i++;
      push('word', start, i);
    } else if (isDigit(c)) {
      // Loose on purpose: `1e10`, `1.5`, `0x1F`, `1_000` are one token; nothing here needs their value.
      i++;
      while (i < n && (isIdentCont(sql.charCodeAt(i)) || sql.charCodeAt(i) === DOT)) i++;
      push('number', start, i);
    } else if (c === DOLLAR && isDigit(next)) {
      i += 2;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      push('parameter', start, i);
    } else if (c === DOLLAR && dollarTagAt(sql, i) !== undefined) {
      const tag = dollarTagAt(sql, i) as string;
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) fail(start, `unterminated dollar-quoted string ${tag}`);
      i = close + tag.length;
      push('dollar-string', start, i);
    } else if (c === BACKSLASH) {
      const lineEnd = sql.indexOf('\n', i);
      const command = sql.slice(i, lineEnd === -1 ? n : lineEnd).trim();
      fail(start, `${META_COMMAND} (found '${command.length > 40 ? `${command.slice(0, 40)}…` : command}')`);
    } else {
      i++;
      push('punct', start, i);
    }
  }
  return tokens;
}

/**
 * The statements of a migration file, in order, empty ones (`;;`, comment-only tails) dropped.
 * Throws a SqlSyntaxError as tokenize does; `file` only names the file in that error.
 */
export function splitStatements(sql: string, file?: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let current: SqlToken[] = [];
  let parenDepth = 0;
  let beginDepth = 0;
  // The first words of the statement, lower-cased: enough to recognise CREATE [OR REPLACE] FUNCTION|PROCEDURE.
  let heads: string[] = [];

  const flush = () => {
    const first = current[0];
    const last = current[current.length - 1];
    if (first && last) statements.push({ text: sql.slice(first.start, last.end), line: first.line });
    current = [];
    parenDepth = 0;
    beginDepth = 0;
    heads = [];
  };

  for (const token of tokenize(sql, file)) {
    if (token.kind === 'punct') {
      if (token.text === ';' && parenDepth === 0 && beginDepth === 0) {
        flush();
        continue;
      }
      if (token.text === '(') parenDepth++;
      else if (token.text === ')' && parenDepth > 0) parenDepth--;
    } else if (token.kind === 'word') {
      const word = token.text.toLowerCase();
      if (heads.length < 4) heads.push(word);
      if (parenDepth === 0 && isRoutineDefinition(heads)) {
        if (word === 'begin') beginDepth++;
        else if (word === 'case' && beginDepth > 0) beginDepth++;
        else if (word === 'end' && beginDepth > 0) beginDepth--;
      }
    }
    current.push(token);
  }
  flush();
  return statements;
}

/**
 * `text` with every comment, and the contents of every string, dollar-quoted string and quoted
 * identifier, replaced by spaces, quotes and dollar tags kept: `SELECT 'drop table' -- truncate`
 * becomes `SELECT '          '           `. The result has the same length and the same line breaks,
 * so an offset or line found in it is valid in `text`. Keyword matching on it cannot be fooled by a
 * comment, a string or an identifier. Throws as tokenize does.
 */
export function stripComments(text: string): string {
  return mask(text, true);
}

/** `text` with comments replaced by spaces (same length and line breaks); strings and identifiers kept. */
export function blankComments(text: string): string {
  return mask(text, false);
}

function mask(text: string, literals: boolean): string {
  let out = '';
  let pos = 0;
  for (const token of tokenize(text)) {
    out += blank(text.slice(pos, token.start)); // only whitespace and comments lie between tokens
    out += literals ? maskLiteral(token) : token.text;
    pos = token.end;
  }
  return out + blank(text.slice(pos));
}

function maskLiteral(token: SqlToken): string {
  const { kind, text } = token;
  let open: number;
  let close: number;
  if (kind === 'string') {
    open = text.startsWith("'") ? 1 : 2; // ' or E'
    close = 1;
  } else if (kind === 'quoted-identifier') {
    open = close = 1;
  } else if (kind === 'dollar-string') {
    open = close = (dollarTagAt(text, 0) as string).length;
  } else {
    return text;
  }
  return text.slice(0, open) + blank(text.slice(open, text.length - close)) + text.slice(text.length - close);
}

function blank(s: string): string {
  return s.replace(/[^\r\n]/g, ' ');
}

function isRoutineDefinition(heads: string[]): boolean {
  if (heads[0] !== 'create') return false;
  const kind = heads[1] === 'or' && heads[2] === 'replace' ? heads[3] : heads[1];
  return kind === 'function' || kind === 'procedure';
}

/** Offset just past the block comment starting at `start` (`/*`), nesting counted; -1 if unterminated. */
function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return -1;
}

/**
 * Offset just past the closing `quote` of a quoted string or identifier whose contents start at
 * `from`. A doubled quote is an escaped quote; with `backslash`, so is `\` followed by anything.
 * -1 if unterminated.
 */
function endOfQuoted(sql: string, from: number, quote: number, backslash: boolean): number {
  let i = from;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (backslash && c === BACKSLASH) {
      i += 2;
    } else if (c === quote) {
      if (sql.charCodeAt(i + 1) !== quote) return i + 1;
      i += 2;
    } else {
      i++;
    }
  }
  return -1;
}

/** The dollar-quote delimiter (`$$`, `$tag$`) starting at `i`, if there is one. */
function dollarTagAt(sql: string, i: number): string | undefined {
  DOLLAR_TAG.lastIndex = i;
  return DOLLAR_TAG.exec(sql)?.[0];
}

// As scan.l: dolq_start [A-Za-z\200-\377_], dolq_cont [A-Za-z\200-\377_0-9]; no `$` inside a tag.
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** A function from offset to 1-based line, for offsets asked in non-decreasing order (cheap) or any order. */
function lineCounter(sql: string): (pos: number) => number {
  let pos = 0;
  let line = 1;
  return (target: number) => {
    if (target < pos) {
      pos = 0;
      line = 1;
    }
    for (; pos < target; pos++) if (sql.charCodeAt(pos) === NEWLINE) line++;
    return line;
  };
}

const NEWLINE = 10;
const QUOTE = 39; // '
const DOUBLE_QUOTE = 34; // "
const DOLLAR = 36;
const DASH = 45;
const DOT = 46;
const SLASH = 47;
const STAR = 42;
const BACKSLASH = 92;
const UPPER_E = 69;
const LOWER_E = 101;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xfeff; // space, \t \n \v \f \r, byte-order mark
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// As scan.l: ident_start [A-Za-z\200-\377_], ident_cont [A-Za-z\200-\377_0-9\$].
function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}
