// The `gpuDev.clusters` setting: Slurm clusters reached through a login node.
import * as z from 'zod/mini';

export const SCRATCH = /^[\w./$-]+$/;

export const ClusterEntrySchema = z.strictObject({
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  scheduler: z.literal('slurm'),
  login: z.string().check(z.minLength(1), z.maxLength(300)),
  account: z.optional(z.string().check(z.maxLength(200))),
  partitions: z.optional(z.array(z.string().check(z.maxLength(200)))),
  attach: z.optional(z.enum(['proxyjump', 'job-sshd', 'srun'])),
  /** A scratch folder on the nodes for HF, pip and torch caches ($USER may be in it; no spaces or quotes). */
  scratch: z.optional(z.string().check(z.regex(SCRATCH))),
  /** GPU-hour cost per GRES type, for ranking (default 1 each). */
  costWeights: z.optional(z.record(z.string(), z.number().check(z.positive()))),
});
export type ClusterEntry = z.infer<typeof ClusterEntrySchema>;

/** The valid entries, and a sentence for each invalid one (nothing is dropped silently). */
export function parseClusterEntries(value: unknown): { clusters: ClusterEntry[]; problems: string[] } {
  if (!Array.isArray(value)) return { clusters: [], problems: value === undefined ? [] : ['gpuDev.clusters must be a list of { name, scheduler: "slurm", login }'] };
  const clusters: ClusterEntry[] = [];
  const problems: string[] = [];
  value.forEach((item, i) => {
    const parsed = ClusterEntrySchema.safeParse(item);
    if (!parsed.success) problems.push(`gpuDev.clusters[${i}] is not { name, scheduler: "slurm", login, account?, partitions?, attach?, scratch?, costWeights? }: ${JSON.stringify(item)?.slice(0, 120)}`);
    else if (clusters.some((c) => c.name === parsed.data.name)) problems.push(`gpuDev.clusters[${i}]: the name "${parsed.data.name}" is used twice`);
    else clusters.push(parsed.data);
  });
  return { clusters, problems };
}
