// The subset of VS Code's when-clause language package.json uses, as VS Code hands it to extensions
// (normalized: `(a || b) && c` becomes `a && c || b && c`): alternatives joined by ||, each of terms
// joined by &&, each `key`, `!key`, `key == value`, `key != value` or `key =~ /regex/`. Anything else
// (parentheses) is refused, so a clause this cannot read fails the host tier instead of passing unchecked.

export interface WhenTerm {
  readonly key: string;
  readonly op: 'true' | 'false' | '==' | '!=' | '=~';
  readonly value?: string;
  readonly regex?: RegExp;
}

/** Every term of every alternative; the literal clauses `true` and `false` have no key. */
export function parseWhen(clause: string): WhenTerm[] {
  return alternatives(clause).flat();
}

/** The clause's alternatives (joined by ||), each the terms that must all hold (joined by &&). */
export function alternatives(clause: string): WhenTerm[][] {
  const withoutRegexes = clause.replace(/\/.*?[^\\]\//g, '');
  if (/[()]/.test(withoutRegexes)) throw new Error(`when clause not understood (parentheses): ${clause}`);
  if (/\|\|/.test(clause) !== /\|\|/.test(withoutRegexes))
    throw new Error(`when clause not understood (|| inside a regex): ${clause}`);
  return clause.split('||').map((alternative) => conjunction(alternative, clause));
}

function conjunction(alternative: string, clause: string): WhenTerm[] {
  return alternative.split('&&').flatMap((raw): WhenTerm[] => {
    const term = raw.trim();
    if (term === 'true' || term === 'false') return [];
    const regex = /^([\w.-]+)\s*=~\s*\/(.*)\/([a-z]*)$/.exec(term);
    if (regex) return [{ key: regex[1]!, op: '=~', regex: new RegExp(regex[2]!, regex[3]) }];
    const compare = /^([\w.-]+)\s*(==|!=)\s*'?([^']*?)'?$/.exec(term);
    if (compare) return [{ key: compare[1]!, op: compare[2] as '==' | '!=', value: compare[3]! }];
    const bare = /^(!?)\s*([\w.-]+)$/.exec(term);
    if (bare) return [{ key: bare[2]!, op: bare[1] ? 'false' : 'true' }];
    throw new Error(`when clause term not understood: ${term} (in ${clause})`);
  });
}

/** Whether a clause holds in a context of string values (absent keys are undefined). */
export function holds(clause: string, context: Readonly<Record<string, string | undefined>>): boolean {
  alternatives(clause); // refuses what it cannot read
  return clause
    .split('||')
    .some(
      (alternative) =>
        alternative.trim() !== 'false' && conjunction(alternative, clause).every((term) => termHolds(term, context)),
    );
}

function termHolds(term: WhenTerm, context: Readonly<Record<string, string | undefined>>): boolean {
  const value = context[term.key];
  switch (term.op) {
    case 'true':
      return Boolean(value);
    case 'false':
      return !value;
    case '==':
      return value === term.value;
    case '!=':
      return value !== term.value;
    case '=~':
      return value !== undefined && term.regex!.test(value);
  }
}
