/** Levenshtein distance: how many single-character edits turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Up to three candidates close to `query` (already normalised alike), closest first: for "did you mean". */
export function closest(query: string, candidates: readonly string[]): string[] {
  return candidates
    .map((candidate) => ({ candidate, distance: editDistance(query, candidate) }))
    .filter(({ distance }) => distance <= Math.max(2, Math.floor(query.length / 3)))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .map(({ candidate }) => candidate)
    .slice(0, 3);
}

/**
 * "RTX 3090ti-Super" → ["rtx", "3090ti", "super"]: lower case, split at anything that is not a
 * letter or digit, and where letters turn into digits ("rtx3090ti" → "rtx", "3090ti").
 */
export function searchTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .flatMap((word) => word.split(/(?<=[a-z])(?=\d)/))
    .filter(Boolean);
}

/** Whether `token` is one of `tokens` or several of them run together ("3090" + "ti" for "3090ti"). */
function containsToken(tokens: readonly string[], token: string): boolean {
  for (let start = 0; start < tokens.length; start++) {
    let joined = '';
    for (let end = start; end < tokens.length && joined.length < token.length; end++) {
      joined += tokens[end];
      if (joined === token) return true;
    }
  }
  return false;
}

/** Model numbers tell candidates apart more than words do: a token with a digit weighs double. */
const weightOf = (token: string) => token.length * (/\d/.test(token) ? 2 : 1);

export interface Candidate<T> {
  readonly value: T;
  /** Every name it goes by (key, full name, aliases). */
  readonly names: readonly string[];
}

/**
 * Up to `limit` candidates for "did you mean", best first: the one whose names contain most of the
 * query's tokens (case, spaces and hyphens aside), then the fewest edits away, then in the order
 * given. A candidate qualifies with half the query's token weight, or when it is a few edits away.
 */
export function rankByTokens<T>(query: string, candidates: readonly Candidate<T>[], limit = 3): T[] {
  const queryTokens = [...new Set(searchTokens(query))];
  const compactQuery = queryTokens.join('');
  if (!compactQuery) return [];
  const total = queryTokens.reduce((sum, token) => sum + weightOf(token), 0);
  const maxEdits = Math.max(2, Math.floor(compactQuery.length / 3));
  return candidates
    .map((candidate, order) => {
      const names = candidate.names.map(searchTokens);
      const weight = queryTokens
        .filter((token) => names.some((tokens) => containsToken(tokens, token)))
        .reduce((sum, token) => sum + weightOf(token), 0);
      const distance = Math.min(...names.map((tokens) => editDistance(compactQuery, tokens.join(''))));
      return { value: candidate.value, weight, distance, order };
    })
    .filter(({ weight, distance }) => 2 * weight >= total || distance <= maxEdits)
    .sort((a, b) => b.weight - a.weight || a.distance - b.distance || a.order - b.order)
    .slice(0, limit)
    .map(({ value }) => value);
}
