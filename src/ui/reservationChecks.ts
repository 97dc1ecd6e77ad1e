// The Reservations view's polling setting and its hardware check: a reservation whose nodes have other
// GPUs than it asked for is named once, with "Cancel and retry excluding <node>".
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { describeMismatch, hardwareMismatch, recordedSummary } from '../reserve/hardwareCheck';
import type { Reservation, SlurmCluster } from '../reserve/slurm/cluster';
import { DEFAULT_POLL_SECONDS } from '../reserve/watch';
import { catalogAliases } from './cosplayModule';

export function pollSeconds(): number {
  return vscode.workspace.getConfiguration('gpuDev').get<number>('reservations.pollSeconds', DEFAULT_POLL_SECONDS);
}

/** What the holder job found on its nodes, for the row's tooltip. */
export function jobTooltipLines(job: Reservation): string[] {
  const found = recordedSummary(job);
  if (!found) return [];
  const mismatch = hardwareMismatch(job, catalogAliases);
  return [`GPUs found: ${found}`, ...(mismatch ? [`⚠ ${describeMismatch(mismatch)}`] : [])];
}

/** Warns once per job of a hardware mismatch; the retry submits the job again without those nodes. */
export function hardwareWarnings(
  state: {
    readonly entry: { readonly name: string };
    readonly cluster: SlurmCluster;
    readonly watch: { reservations: readonly Reservation[] };
  },
  warned: Set<string>,
  retried: () => void,
): void {
  for (const job of state.watch.reservations) {
    const mismatch = job.state === 'RUNNING' ? hardwareMismatch(job, catalogAliases) : undefined;
    if (!mismatch || warned.has(`${job.jobId}:hardware`)) continue;
    warned.add(`${job.jobId}:hardware`);
    const retry = `Cancel and retry excluding ${mismatch.nodes.join(', ')}`;
    void vscode.window
      .showWarningMessage(`Reservation on ${state.entry.name}: ${describeMismatch(mismatch)}.`, retry, 'Keep It')
      .then(async (choice) => {
        if (choice !== retry) return;
        const jobId = await state.cluster.retryExcluding(job, mismatch.nodes);
        if (typeof jobId === 'string')
          void vscode.window.showInformationMessage(
            `Job ${job.jobId} cancelled; job ${jobId} asks again without ${mismatch.nodes.join(', ')}.`,
          );
        else void vscode.window.showErrorMessage(`Retry of job ${job.jobId} failed: ${describeError(jobId)}`);
        retried();
      });
  }
}
