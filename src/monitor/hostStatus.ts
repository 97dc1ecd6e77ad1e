import type { ProbeResult } from '../hosts/gpuProbe';

/** How a host reads in the tree: its last good sample while it is merely stale, then the failure. */
export interface HostStatus {
  /** The sample to list GPUs from, if any. */
  readonly shown: ProbeResult | undefined;
  readonly description: string | undefined;
}

/** A host is stale for this many sampling intervals (at least 10 s) before it counts as disconnected. */
export const STALE_INTERVALS = 3;

export function hostStatus(
  latest: ProbeResult | undefined,
  lastGood: ProbeResult | undefined,
  now: number,
  intervalMs: number,
): HostStatus {
  if (!latest) return { shown: undefined, description: 'connecting…' };
  if (latest.kind === 'gpus')
    return { shown: latest, description: `${latest.gpus.length} GPU${latest.gpus.length === 1 ? '' : 's'}` };
  if (latest.kind === 'error' && latest.retry !== false && lastGood) {
    const ageMs = now - lastGood.at;
    if (ageMs < Math.max(STALE_INTERVALS * intervalMs, 10_000)) {
      return { shown: lastGood, description: `stale (last sample ${Math.round(ageMs / 1000)} s ago)` };
    }
    return { shown: latest, description: 'disconnected — retrying' };
  }
  return { shown: latest, description: undefined };
}
