/**
 * Errors with a meaning for the person running the action.
 *
 * - ConfigurationError: the user gave us something we cannot use. Exit 1, no stack trace.
 * - ExternalError: a service said no. Carries the service's status and message, never a credential.
 * Anything else is a bug in opskit and is reported with its stack.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

export class ExternalError extends Error {
  override readonly name = 'ExternalError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The input error message every parser uses: names the input, what is accepted, what came. */
export function inputError(input: string, expected: string, got?: string): ConfigurationError {
  const shown = got === undefined ? '' : `, got '${truncate(got, 80)}'`;
  return new ConfigurationError(`input '${input}': expected ${expected}${shown}`);
}

export function isUserFacing(err: unknown): err is ConfigurationError | ExternalError {
  return err instanceof ConfigurationError || err instanceof ExternalError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
