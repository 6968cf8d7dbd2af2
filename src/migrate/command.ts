/**
 * The `command` input of migrate-with-backup → an argument array for `spawnTool`/`runTool` (src/util/child.ts),
 * never a shell: one line is split into words like a shell splits them, but anything a shell would expand or
 * interpret is refused. And back: an argument array as a line for people and logs.
 */
import { ConfigurationError, inputError } from '../errors.js';
import { parseYamlBlock } from '../inputs.js';

const COMMAND_EXPECTED =
  'a command: one line like npx knex migrate:latest, or a list of arguments like ["npx", "knex", "migrate:latest"]';

/** What each character (or pair) means to a shell, for the error message. */
const SHELL_PAIRS: Record<string, string> = {
  '&&': 'an && list',
  '||': 'an || list',
  '>>': 'an appending redirection',
  '<<': 'a here-document',
  '$(': 'a command substitution',
  '${': 'a variable expansion',
};

const SHELL_CHARS: Record<string, string> = {
  $: 'a variable expansion',
  '`': 'a command substitution',
  '|': 'a pipe',
  '&': 'a background job',
  ';': 'a command separator',
  '>': 'a redirection',
  '<': 'a redirection',
  '(': 'a subshell',
  ')': 'a subshell',
  '\n': 'a line break, which starts another command',
  '*': 'a glob pattern',
  '?': 'a glob pattern',
  '[': 'a glob pattern',
  '{': 'a brace expansion',
};

/** Special only at the start of a word. */
const SHELL_WORD_START: Record<string, string> = {
  '~': 'a home directory expansion',
  '#': 'a comment',
};

function shellConstruct(input: string, token: string, meaning: string): ConfigurationError {
  const shown = token === '\n' ? 'a line break' : `'${token}'`;
  return new ConfigurationError(
    `input '${input}': ${shown} (${meaning}) is a shell construct; give the command as a list of arguments` +
      ' (it runs without a shell: put shell code in a script and run the script)',
  );
}

/**
 * The `command` input → an argument array. Accepts a YAML/JSON list of strings (`["npx", "knex",
 * "migrate:latest"]`, or `- item` lines), taken literally, or one line split into words like a POSIX shell
 * does (spaces separate words; '…' and "…" quote; a backslash escapes the next character; backslash-newline
 * continues the line) with no expansion at all: `$`, backticks, pipes, `;`, `&`, `&&`, `||`, redirections,
 * subshells, globs, braces, a leading `~` or `#`, a line break or a leading NAME=value are refused, unquoted
 * and also (for `$` and backticks) inside double quotes, where a shell would still expand them.
 */
export function parseCommand(input: string, raw: string): string[] {
  const text = raw.replace(/\r\n?/g, '\n').trim();
  if (!text) throw inputError(input, COMMAND_EXPECTED);
  const firstLine = text.split('\n').find((line) => line.trim() && !line.trim().startsWith('#')) ?? '';
  const args =
    firstLine.startsWith('[') || /^-(\s|$)/.test(firstLine) ? commandList(input, raw) : splitWords(input, text);
  if (args.length === 0) throw inputError(input, COMMAND_EXPECTED, raw);
  if (!args[0]) throw new ConfigurationError(`input '${input}': the program (the first word) is empty`);
  if (args.some((a) => a.includes('\0'))) throw new ConfigurationError(`input '${input}': an argument holds a NUL`);
  return args;
}

function commandList(input: string, raw: string): string[] {
  const data = parseYamlBlock(input, raw);
  if (!Array.isArray(data)) throw inputError(input, COMMAND_EXPECTED);
  return data.map((item: unknown, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw inputError(input, `a list of strings, but item ${i + 1} is ${item === null ? 'empty' : 'a list or map'}`);
  });
}

function splitWords(input: string, text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  const end = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === ' ' || c === '\t') {
      end();
      i++;
    } else if (c === '\\') {
      if (next === undefined) throw new ConfigurationError(`input '${input}': the command ends with a backslash`);
      if (next !== '\n') {
        word += next;
        inWord = true;
      }
      i += 2;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new ConfigurationError(`input '${input}': a ' quote is not closed`);
      word += text.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined) throw new ConfigurationError(`input '${input}': a " quote is not closed`);
        if (d === '"') break;
        if (d === '\\' && text[i + 1] !== undefined && '$`"\\\n'.includes(text[i + 1]!)) {
          if (text[i + 1] !== '\n') word += text[i + 1];
          i += 2;
          continue;
        }
        if (d === '$' || d === '`') {
          throw shellConstruct(input, d === '$' && text[i + 1] === '(' ? '$(' : d, `${SHELL_CHARS[d]} inside "…"`);
        }
        word += d;
        i++;
      }
      i++;
    } else {
      const pair = next === undefined ? '' : c + next;
      if (SHELL_PAIRS[pair]) throw shellConstruct(input, pair, SHELL_PAIRS[pair]);
      if (SHELL_CHARS[c]) throw shellConstruct(input, c, SHELL_CHARS[c]);
      if (!inWord && SHELL_WORD_START[c]) throw shellConstruct(input, c, SHELL_WORD_START[c]);
      word += c;
      inWord = true;
      i++;
    }
  }
  end();
  const assignment = words[0] === undefined ? null : /^[A-Za-z_][A-Za-z0-9_]*=/.exec(words[0]);
  if (assignment) throw shellConstruct(input, assignment[0], 'an environment assignment before the program');
  return words;
}

/** An argument array for people and logs: words quoted where a shell would need it. */
export function commandLine(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
