/** What every parser of a tool's output shares: its lines without colours, and the error for output it cannot read. */
import { ExternalError } from '../../errors.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function lines(stdout: string): string[] {
  return stdout
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((l) => l.trim());
}

export function unreadable(what: string, stdout: string): ExternalError {
  const tail = lines(stdout).filter(Boolean).slice(-4).join(' | ');
  return new ExternalError(`cannot read the output of ${what}${tail ? `: ${tail}` : ' (it printed nothing)'}`);
}
