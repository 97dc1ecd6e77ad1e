import type { MigProfile } from '../catalog/schema';
import type { MigInstance } from '../hosts/nvidiaSmi/migInstances';

/**
 * Where each profile may start, in memory slices (`nvidia-smi mig -lgipp`, the same on A100,
 * H100 and H200 per NVIDIA's MIG user guide), keyed by profile id. Its size is its memory slices.
 */
const STARTS: Readonly<Record<number, readonly number[]>> = {
  19: [0, 1, 2, 3, 4, 5, 6],
  20: [0, 1, 2, 3, 4, 5, 6],
  15: [0, 2, 4, 6],
  14: [0, 2, 4],
  9: [0, 4],
  5: [0],
  0: [0],
};

const COMPUTE_SLICES = 7;

/** The first free start for `profile` among `existing` instances of the same GPU, or null when none fits. */
export function freePlacement(
  profile: MigProfile,
  existing: readonly MigInstance[],
  profiles: readonly MigProfile[],
): number | null {
  const computeInUse = existing.reduce(
    (sum, instance) => sum + (profiles.find((p) => p.id === instance.profileId)?.computeSlices ?? 0),
    0,
  );
  if (computeInUse + profile.computeSlices > COMPUTE_SLICES) return null;
  if (existing.filter((instance) => instance.profileId === profile.id).length >= profile.maxInstances) return null;
  const overlaps = (start: number) =>
    existing.some((i) => start < i.start + i.size && i.start < start + profile.memorySlices);
  return (STARTS[profile.id] ?? []).find((start) => !overlaps(start)) ?? null;
}
