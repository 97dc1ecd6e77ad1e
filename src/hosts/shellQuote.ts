/** One POSIX-shell word for any string: single quotes, with embedded ones closed, escaped and reopened. */
export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line for a remote shell: every argument quoted, so nothing in them is ever interpreted. */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}
