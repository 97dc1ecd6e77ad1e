import type { GpuEntry, MigLayout, MigProfile } from '../catalog/schema';
import type { MigInstance } from '../hosts/nvidiaSmi/migInstances';

/** A100 through B200: memory in eighths, SMs in sevenths (NVIDIA MIG user guide, "Terminology"). */
export const STANDARD_LAYOUT: MigLayout = { memorySlices: 8, computeSlices: 7 };

/**
 * Where each profile may start on the standard layout, in memory slices, keyed by profile id: the
 * guide's `nvidia-smi mig -lgipp`, the same on A100, H100 and H200. A profile that lists its own
 * `starts` (RTX PRO 6000 Blackwell numbers and places its profiles otherwise) uses those.
 */
const STANDARD_STARTS: Readonly<Record<number, readonly number[]>> = {
  19: [0, 1, 2, 3, 4, 5, 6],
  20: [0, 1, 2, 3, 4, 5, 6],
  15: [0, 2, 4, 6],
  14: [0, 2, 4],
  9: [0, 4],
  5: [0],
  0: [0],
};

export function migLayoutOf(host: GpuEntry): MigLayout {
  return host.host?.migLayout ?? STANDARD_LAYOUT;
}

const isStandard = (layout: MigLayout) =>
  layout.memorySlices === STANDARD_LAYOUT.memorySlices && layout.computeSlices === STANDARD_LAYOUT.computeSlices;

/** The starts of `profile` on a GPU cut as `layout`: its own, else the standard ones of its id; none when unknown. */
export function startsOf(profile: MigProfile, layout: MigLayout = STANDARD_LAYOUT): readonly number[] {
  return profile.starts ?? (isStandard(layout) ? (STANDARD_STARTS[profile.id] ?? []) : []);
}

/** The first free start for `profile` among `existing` instances of the same GPU, or null when none fits. */
export function freePlacement(
  profile: MigProfile,
  existing: readonly MigInstance[],
  profiles: readonly MigProfile[],
  layout: MigLayout = STANDARD_LAYOUT,
): number | null {
  const computeInUse = existing.reduce(
    (sum, instance) => sum + (profiles.find((p) => p.id === instance.profileId)?.computeSlices ?? 0),
    0,
  );
  if (computeInUse + profile.computeSlices > layout.computeSlices) return null;
  if (existing.filter((instance) => instance.profileId === profile.id).length >= profile.maxInstances) return null;
  const overlaps = (start: number) =>
    existing.some((i) => start < i.start + i.size && i.start < start + profile.memorySlices);
  return (
    startsOf(profile, layout).find(
      (start) => start + profile.memorySlices <= layout.memorySlices && !overlaps(start),
    ) ?? null
  );
}

/** A slice's share of the GPU's bandwidth: its memory slices (with their controllers) of all of them. */
export function sliceBandwidthGBs(host: GpuEntry, profile: MigProfile): number {
  return (host.bandwidthGBs * profile.memorySlices) / migLayoutOf(host).memorySlices;
}

/** A profile without media or graphics variants (`+me`, `+me.all`, `-me`, `+gfx`): a compute slice needs none. */
const isPlain = (profile: MigProfile) => /^\d+g\.\d+gb$/.test(profile.name);

/**
 * The smallest plain MIG profile of `host` with `vramMiB` that still has a free placement, ties
 * broken by closeness to `smCount`; null when none fits.
 */
export function migSliceFor(
  host: GpuEntry,
  target: { readonly vramMiB: number; readonly smCount: number },
  existing: readonly MigInstance[],
): { profile: MigProfile; start: number } | null {
  const profiles = host.host?.migProfiles ?? [];
  const layout = migLayoutOf(host);
  return (
    profiles
      .filter((p) => isPlain(p) && p.memoryMiB >= target.vramMiB)
      .sort(
        (a, b) =>
          a.memoryMiB - b.memoryMiB || Math.abs(a.smCount - target.smCount) - Math.abs(b.smCount - target.smCount),
      )
      .map((profile) => ({ profile, start: freePlacement(profile, existing, profiles, layout) }))
      .find((found): found is { profile: MigProfile; start: number } => found.start !== null) ?? null
  );
}
