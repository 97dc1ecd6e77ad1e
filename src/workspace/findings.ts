/** One thing the analysis learnt, with the file and the 1-based line it came from. */
export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** The 1-based line of `index` in `text`, counting on from a known (index, line) before it. */
export function lineOf(text: string, index: number, from = { index: 0, line: 1 }): number {
  let line = from.line;
  for (let i = text.indexOf('\n', from.index); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * The first `limit` matches of `pattern` (made global) in `text`, with their lines: one pass over the text.
 * The limit keeps a generated or hostile file from turning into thousands of findings.
 */
export function* matchesWithLines(
  text: string,
  pattern: RegExp,
  limit = 300,
): Generator<{ match: RegExpExecArray; line: number }> {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  let at = { index: 0, line: 1 };
  let count = 0;
  for (let match = global.exec(text); match && count++ < limit; match = global.exec(text)) {
    at = { index: match.index, line: lineOf(text, match.index, at) };
    yield { match, line: at.line };
    if (match[0].length === 0) global.lastIndex++;
  }
}
