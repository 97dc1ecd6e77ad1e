// Which GPU a site's GRES type is, and which GRES types a typed GPU name means: exactly (case and
// punctuation aside), through the catalog's names of THAT GPU, or a site's variant name for it
// (`a100_80`, `a100-80g`, `h100_nvl`, MIG `a100_1g.10gb`) — never by substring ("a100" is not `a10`).
import type { GpuDevError } from '../../core/errors';
import { closest } from '../../core/suggest';

/** The catalog's names of a GPU, its key first ([] when the catalog does not know the name). */
export type GpuAliases = (typed: string) => readonly string[];

export interface GresGpu {
  /** The catalog key of the (whole) GPU; undefined when the catalog does not know it. */
  readonly key?: string;
  /** Its NVML name, for people ("NVIDIA A100-SXM4-80GB"). */
  readonly name?: string;
  /** A MIG slice's profile ("1g.10gb"); its compute slices of 7. */
  readonly mig?: { readonly profile: string; readonly slices: number };
}

const norm = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');
const MIG = /^(?:(.*?)[_-])?(\d)g\.(\d+)gb$/i;
const VARIANT = /^(.*?)[_-](\d+)(?:gb?)?$|^(.*?)[_-](nvl|sxm\d?|pcie)$/i;

function named(aliases: GpuAliases, ...candidates: string[]): { key: string; name: string } | undefined {
  for (const candidate of candidates) {
    const names = aliases(candidate);
    if (names.length) return { key: names[0]!, name: names[1] ?? names[0]! };
  }
  return undefined;
}

/** The GPU a GRES type is: `a100_80` → A100 80GB, `h100_nvl` → H100 NVL, `a100_1g.10gb` → a 1g.10gb slice of an A100. */
export function gresGpu(type: string, aliases: GpuAliases): GresGpu {
  const mig = MIG.exec(type);
  if (mig) {
    const parent = mig[1] ? named(aliases, mig[1]) : undefined;
    return { ...parent, mig: { profile: `${mig[2]}g.${mig[3]}gb`, slices: Number(mig[2]) } };
  }
  const direct = named(aliases, type);
  if (direct) return direct;
  const variant = VARIANT.exec(type);
  if (variant) {
    const found = variant[2]
      ? named(aliases, `${variant[1]} ${variant[2]}GB`)
      : named(aliases, `${variant[3]} ${variant[4]}`);
    if (found) return found;
  }
  return {};
}

/** "a100_80 (NVIDIA A100-SXM4-80GB)", "a100_1g.10gb (1g.10gb MIG slice of NVIDIA A100-SXM4-40GB)". */
export function describeGres(type: string, aliases: GpuAliases): string {
  const gpu = gresGpu(type, aliases);
  if (gpu.mig) return `${type} (${gpu.mig.profile} MIG slice${gpu.name ? ` of ${gpu.name}` : ''})`;
  return gpu.name ? `${type} (${gpu.name})` : type;
}

/**
 * The cluster's GRES types for what the user typed: the one equal to it (case and punctuation aside),
 * else every whole-GPU type that is the same catalog GPU, else every MIG type of that profile ("1g.10gb").
 */
export function resolveGresType(typed: string, types: readonly string[], aliases: GpuAliases): string[] | GpuDevError {
  const wanted = norm(typed);
  const exact = wanted ? types.filter((t) => norm(t) === wanted) : [];
  if (exact.length) return exact;
  const typedMig = MIG.exec(typed.trim());
  const typedGpu = typedMig ? undefined : named(aliases, typed);
  const matches = types.filter((t) => {
    const gpu = gresGpu(t, aliases);
    if (typedMig) {
      const profile = `${typedMig[2]}g.${typedMig[3]}gb`;
      const parent = typedMig[1] ? named(aliases, typedMig[1])?.key : undefined;
      return gpu.mig?.profile === profile && (parent === undefined || parent === gpu.key);
    }
    return !gpu.mig && typedGpu !== undefined && gpu.key === typedGpu.key;
  });
  if (wanted && matches.length) return matches;
  const suggestions = closest(wanted, types.map(norm)).map((n) => types.find((t) => norm(t) === n)!);
  const have = `it has ${types.map((t) => describeGres(t, aliases)).join(', ') || 'no GPUs'}`;
  return {
    message: `No GPU type "${typed}" on this cluster`,
    hint: suggestions.length ? `did you mean ${suggestions.join(', ')}? ${have}` : have,
  };
}
