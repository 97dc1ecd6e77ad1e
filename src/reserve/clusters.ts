// The `gpuDev.clusters` setting: Slurm clusters reached through a login node.
import * as z from 'zod/mini';
import { parseNamedEntries } from '../core/namedEntries';

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
  const { entries, problems } = parseNamedEntries(value, ClusterEntrySchema, 'gpuDev.clusters', {
    short: '{ name, scheduler: "slurm", login }',
    full: '{ name, scheduler: "slurm", login, account?, partitions?, attach?, scratch?, costWeights? }',
  });
  return { clusters: entries, problems };
}
