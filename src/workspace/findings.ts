/** One thing the analysis learnt, with the file and the 1-based line it came from. */
export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** The 1-based line of `index` in `text`. */
export function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Every match of `pattern` (made global) in `text`, with its line. */
export function* matchesWithLines(text: string, pattern: RegExp): Generator<{ match: RegExpExecArray; line: number }> {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  for (let match = global.exec(text); match; match = global.exec(text)) {
    yield { match, line: lineOf(text, match.index) };
    if (match[0].length === 0) global.lastIndex++;
  }
}
