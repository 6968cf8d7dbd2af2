/**
 * ssh hands the remote side one command string, which the login shell there parses. To run an argument
 * array remotely, every argument is single-quoted (a `'` inside becomes `'\''`), so nothing in it is
 * expanded: no variables, globs, `;` or backticks. This is the only place a shell string is built, and it
 * is built so that the remote shell sees exactly the arguments we were given.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (/^[A-Za-z0-9_./:@%+,-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
