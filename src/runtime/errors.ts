/**
 * User-facing failures. The CLI prints `error: <message>` and exits with `exitCode`
 * (2 = bad input or usage, 1 = internal failure); a stack trace only with --debug.
 */
export class CrevnetError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CrevnetError';
    this.exitCode = exitCode;
  }
}

/** Bad input or usage: the user can fix it (exit code 2). */
export class UserError extends CrevnetError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UserError';
  }
}

/** Internal failure that is not the user's fault (exit code 1). */
export class InternalError extends CrevnetError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'InternalError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CrevnetError ? err.exitCode : 1;
}
