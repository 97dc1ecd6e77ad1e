/** An error as a value: what went wrong, in the user's words, and what to do about it. */
export interface GpuDevError {
  readonly message: string;
  readonly hint?: string;
  /** For errors a caller reacts to, not just shows. */
  readonly code?: 'bad-passphrase';
}

export function describeError(error: GpuDevError): string {
  return error.hint ? `${error.message}: ${error.hint}` : error.message;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
