// Which GPU of a job's node a cosplay inside the job takes: the job's GPUs are the ones a step's
// CUDA_VISIBLE_DEVICES names (indices or UUIDs); where Slurm sets none (no device files in gres.conf),
// every GPU the step sees.
import type { GpuSample } from '../hosts/gpu';

/** `uuid` (the GPUs view's choice) when it is one of the job's GPUs, else the job's first; or why not. */
export function jobGpu(
  gpus: readonly GpuSample[],
  visibleDevices: string,
  jobId: string,
  uuid?: string,
): GpuSample | string {
  const named = visibleDevices
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const jobs = named.length
    ? named.flatMap((d) => gpus.filter((g) => String(g.index) === d || g.uuid === d))
    : [...gpus];
  if (!uuid)
    return jobs[0] ?? (gpus.length ? `job ${jobId} sees none of its node's GPUs` : `job ${jobId}'s node has no GPU`);
  return (
    jobs.find((g) => g.uuid === uuid) ??
    `${uuid} is not one of job ${jobId}'s GPUs (${jobs.map((g) => `GPU ${g.index}`).join(', ') || 'none'})`
  );
}
