/**
 * `nginx -t`, `sudo nginx -s reload`, `docker exec lb nginx -t`: a command input split into arguments the way
 * a shell splits words ('single', "double" quotes and backslashes), without a shell. Pipes, `;`, `&&`,
 * redirections, `$VARS` and backticks are refused rather than passed on as literal arguments a person did not mean.
 */
import { inputError } from '../errors.js';

const SHELL_ONLY = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`']);

export function parseCommandLine(input: string, raw: string): string[] {
  const expected =
    'a command and its arguments, like nginx -t (quotes allowed; no shell: pipes, ;, &&, redirections and $VARS are not supported)';
  const args: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  const text = raw.trim();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i]!;
      else if (c === '$' || c === '`') throw inputError(input, expected, raw);
      else word += c;
    } else if (/\s/.test(c)) {
      if (inWord) args.push(word);
      word = '';
      inWord = false;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw inputError(input, expected, raw);
      word += text[++i]!;
      inWord = true;
    } else if (SHELL_ONLY.has(c)) {
      throw inputError(input, expected, raw);
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw inputError(input, `${expected}; a ${quote} quote is not closed`, raw);
  if (inWord) args.push(word);
  if (args.length === 0) throw inputError(input, expected, raw);
  return args;
}
