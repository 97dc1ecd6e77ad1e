import { parse } from 'yaml';
import type { GpuDevError } from '../core/errors';
import { rankByTokens } from '../core/suggest';
import catalogYaml from './data/gpus.yaml';
import { CatalogSchema, type GpuEntry } from './schema';

export type Lookup =
  { readonly ok: true; readonly entry: GpuEntry } | { readonly ok: false; readonly error: GpuDevError };

/** "NVIDIA GeForce RTX 3090" / "rtx-3090" / "RTX 3090" → "rtx3090". */
export function normalizeGpuName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .replace(/^(nvidia)?(geforce|tesla)?/, '');
}

export class Catalog {
  private readonly byNormalized = new Map<string, GpuEntry>();

  constructor(readonly entries: readonly GpuEntry[]) {
    for (const entry of entries) {
      for (const name of [entry.key, entry.name, ...entry.aliases]) {
        const normalized = normalizeGpuName(name);
        const existing = this.byNormalized.get(normalized);
        // One NVML name for two memory sizes (RTX 5060 Ti 8/16 GB): the first listed answers it.
        if (existing && existing !== entry && name === entry.name && existing.name === name) continue;
        if (existing && existing !== entry)
          throw new Error(`catalog: "${name}" names both ${existing.key} and ${entry.key}`);
        this.byNormalized.set(normalized, entry);
      }
    }
  }

  get hosts(): GpuEntry[] {
    return this.entries.filter((entry) => entry.host);
  }

  /** Case- and punctuation-insensitive lookup by key, NVML name or alias, with "did you mean" when unknown. */
  lookup(query: string): Lookup {
    const normalized = normalizeGpuName(query);
    const entry = normalized ? this.byNormalized.get(normalized) : undefined;
    if (entry) return { ok: true, entry };
    // Token-aware: "rtx 3090ti super" → rtx3090ti, which plain edit distance misses; ties in key order.
    const suggestions = rankByTokens(
      query,
      [...this.entries]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((candidate) => ({ value: candidate.key, names: [candidate.key, candidate.name, ...candidate.aliases] })),
    );
    return {
      ok: false,
      error: {
        message: `Unknown GPU "${query}"`,
        hint: suggestions.length
          ? `did you mean ${suggestions.join(', ')}?`
          : 'run `gpudev catalog` to list the GPUs it knows',
      },
    };
  }

  /** The entry for a GPU that nvidia-smi reported, by its exact NVML name (or a name older drivers printed). */
  byNvmlName(name: string): GpuEntry | undefined {
    return this.entries.find((entry) => entry.name === name || entry.aliases.includes(name));
  }
}

/** Parses and validates catalog YAML; throws with every problem listed (a broken catalog is a build error). */
export function parseCatalog(text: string): Catalog {
  const parsed = CatalogSchema.safeParse(parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`GPU catalog is invalid:\n${problems.join('\n')}`);
  }
  return new Catalog(parsed.data.gpus);
}

let loaded: Catalog | undefined;

/** The built-in catalog, parsed on first use. */
export function builtinCatalog(): Catalog {
  loaded ??= parseCatalog(catalogYaml);
  return loaded;
}
