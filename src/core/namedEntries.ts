import type * as z from 'zod/mini';

/**
 * A list setting of named entries (`gpuDev.hosts`, `gpuDev.clusters`): the valid entries, and a sentence
 * for each invalid one — nothing is dropped silently. `refuse` adds a check of its own (a reserved name).
 */
export function parseNamedEntries<T extends { name: string }>(
  value: unknown,
  schema: z.ZodMiniType<T>,
  setting: string,
  shape: { short: string; full: string },
  refuse: (entry: T) => string | undefined = () => undefined,
): { entries: T[]; problems: string[] } {
  if (!Array.isArray(value))
    return { entries: [], problems: value === undefined ? [] : [`${setting} must be a list of ${shape.short}`] };
  const entries: T[] = [];
  const problems: string[] = [];
  value.forEach((item, i) => {
    const parsed = schema.safeParse(item);
    const refused = parsed.success ? refuse(parsed.data) : undefined;
    if (!parsed.success) problems.push(`${setting}[${i}] is not ${shape.full}: ${JSON.stringify(item)?.slice(0, 120)}`);
    else if (refused) problems.push(`${setting}[${i}]: ${refused}`);
    else if (entries.some((e) => e.name === parsed.data.name))
      problems.push(`${setting}[${i}]: the name "${parsed.data.name}" is used twice`);
    else entries.push(parsed.data);
  });
  return { entries, problems };
}
