// Did the reservation get the GPUs it asked for? Partitions have handed out other GPUs than their name
// says (a `v100` partition allocating A6000s): the GPUs the holder job recorded are compared, by catalog
// GPU, with the GRES type asked for.
import type { Reservation } from './slurm/cluster';
import { gresGpu, type GpuAliases } from './slurm/gresTypes';

export interface HardwareMismatch {
  readonly jobId: string;
  /** The GRES type asked for, and what the catalog calls it. */
  readonly asked: string;
  readonly askedName: string;
  /** Nodes whose GPUs are not that GPU, and what they have. */
  readonly nodes: readonly string[];
  readonly found: readonly string[];
}

/** `gres:gpu:a100_80:1`, `gpu:a100_80:1(IDX:0)` → a100_80 (undefined for untyped GPUs). */
export function askedType(gres: string): string | undefined {
  return /(?:^|[,:/])gpu:([^:,(]+):\d+/.exec(gres.replace(/^gres:/, ''))?.[1];
}

/** The mismatch of a job whose recorded GPUs are not the catalog GPU of its GRES type; undefined when they are or nobody knows. */
export function hardwareMismatch(job: Reservation, aliases: GpuAliases): HardwareMismatch | undefined {
  const type = askedType(job.gres);
  if (!type || !job.gpus?.length) return undefined;
  const wanted = gresGpu(type, aliases);
  // A MIG slice shows its parent GPU, whose size the GRES type does not say.
  if (!wanted.key || wanted.mig) return undefined;
  const wrong = job.gpus.filter((gpu) => aliases(gpu.name)[0] !== wanted.key);
  if (!wrong.length) return undefined;
  return {
    jobId: job.jobId,
    asked: type,
    askedName: wanted.name ?? wanted.key,
    nodes: [...new Set(wrong.map((g) => g.node))],
    found: [...new Set(wrong.map((g) => g.name))],
  };
}

/** "job 12 asked for a100_80 (NVIDIA A100-SXM4-80GB) but vm has NVIDIA L4". */
export function describeMismatch(m: HardwareMismatch): string {
  return `job ${m.jobId} asked for ${m.asked} (${m.askedName}) but ${m.nodes.join(', ')} ${m.nodes.length === 1 ? 'has' : 'have'} ${m.found.join(', ')}`;
}

/** What a reservation's GPUs really are, for its row ("NVIDIA L4 ×2 on vm"). */
export function recordedSummary(job: Reservation): string | undefined {
  if (!job.gpus?.length) return undefined;
  const counts = new Map<string, number>();
  for (const gpu of job.gpus) counts.set(gpu.name, (counts.get(gpu.name) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${name} ×${n}`).join(', ');
}
