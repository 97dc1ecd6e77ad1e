// A reservation's row in the Reservations view: what a narrow side bar must not cut off goes first (the
// time left of a running job; a pending one's expected start), the rest in the description.
import type { Reservation } from './slurm/cluster';
import { localTime } from './slurm/clusterClock';
import { describeReason } from './slurm/reasons';
import { recordedSummary } from './hardwareCheck';

export function jobRow(job: Reservation): { label: string; description: string } {
  const reason = describeReason(job.state, job.reason);
  const gres = job.gres.replace(/^gres:/, '');
  const rest = (...parts: string[]) => parts.filter(Boolean).join(' · ');
  if (job.state === 'RUNNING') {
    const found = recordedSummary(job);
    return {
      label: `${job.jobId} · ${job.timeLeft} left`,
      description: rest(`${gres} on ${job.nodes}`, job.name, found ? `has ${found}` : ''),
    };
  }
  if (job.state === 'PENDING') {
    // Read in the cluster's zone (startsAt), shown in this machine's.
    const at = typeof job.startsAt === 'number' ? localTime(new Date(job.startsAt)) : job.start.replace('T', ' ');
    const starts = job.start !== 'N/A' && job.start ? `, starts ${at}` : '';
    return { label: `${job.jobId} · pending${starts}`, description: rest(reason, gres, job.name) };
  }
  return { label: `${job.jobId} · ${job.state.toLowerCase()}`, description: rest(reason, gres, job.name) };
}
