/** A command line's words: positional ones, `--option value` pairs and bare `--flags`; or what is wrong with it. */
export interface ParsedArgs {
  readonly positional: string[];
  readonly options: Map<string, string>;
  readonly flags: Set<string>;
}

export function parseArgs(
  args: readonly string[],
  flags: ReadonlySet<string>,
  valued: ReadonlySet<string>,
): ParsedArgs | string {
  const positional: string[] = [];
  const options = new Map<string, string>();
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (flags.has(arg)) seen.add(arg);
    else if (valued.has(arg)) {
      const value = args[++i];
      if (value === undefined) return `${arg} needs a value`;
      options.set(arg, value);
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else positional.push(arg);
  }
  return { positional, options, flags: seen };
}
