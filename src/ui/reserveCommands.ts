import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { formatSlurmTime, parseDuration } from '../reserve/duration';
import type { ProbedStrategy } from '../reserve/slurm/strategies';
import { catalogAliases } from './cosplayModule';
import type { ReservationNode, Reservations } from './reservations';

export { attachReservation, copySshCommand } from './reservationAttach';

const when = (s: ProbedStrategy) =>
  s.when === 'never'
    ? `cannot run: ${s.reason ?? ''}`
    : s.when === 'now'
      ? `starts now on ${s.nodeList}`
      : `starts ${s.start!.toLocaleString()} on ${s.nodeList}`;

/** "GPU: Quick Reserve GPUs…" (the panel's flow in input boxes): cluster, GPU types, count, time → every strategy probed → the one picked is submitted. */
export async function reserveGpus(reservations: Reservations, log: vscode.LogOutputChannel): Promise<void> {
  const names = reservations.names();
  if (!names.length) {
    const open = await vscode.window.showInformationMessage(
      'No Slurm cluster is configured: add one to gpuDev.clusters ({ "name", "scheduler": "slurm", "login" }).',
      'Open Settings',
    );
    if (open) void vscode.commands.executeCommand('workbench.action.openSettings', 'gpuDev.clusters');
    return;
  }
  const name =
    names.length === 1
      ? names[0]
      : await vscode.window.showQuickPick(names, { title: 'Reserve GPUs on which cluster?' });
  const state = name && reservations.get(name);
  if (!state) return;
  const types = await vscode.window.showInputBox({
    title: `Reserve GPUs on ${state.entry.name} (1/3)`,
    prompt: 'GPU types, best first, comma-separated (empty: any type)',
    placeHolder: 'h100, a100',
  });
  if (types === undefined) return;
  const count = await vscode.window.showInputBox({
    title: `Reserve GPUs on ${state.entry.name} (2/3)`,
    prompt: 'How many GPUs in all',
    value: '1',
    validateInput: (v) => (/^[1-9]\d*$/.test(v.trim()) ? undefined : 'a whole number of at least 1'),
  });
  if (count === undefined) return;
  const time = await vscode.window.showInputBox({
    title: `Reserve GPUs on ${state.entry.name} (3/3)`,
    prompt: 'For how long: 30m, 2h, 1h30m, 1d, or 1-00:00:00',
    value: '2h',
    validateInput: (v) => {
      const m = parseDuration(v);
      return typeof m === 'string' ? m : undefined;
    },
  });
  if (time === undefined) return;
  const request = {
    types: types
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    count: Number(count.trim()),
    minutes: parseDuration(time) as number,
    ...(state.entry.account && { account: state.entry.account }),
    ...(state.entry.partitions?.[0] && { partition: state.entry.partitions[0] }),
  };
  const planned = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Asking ${state.entry.name} when the GPUs could start (sbatch --test-only)`,
    },
    () => state.cluster.plan(request, state.entry.costWeights, catalogAliases),
  );
  if ('message' in planned)
    return void vscode.window.showErrorMessage(`Cannot reserve on ${state.entry.name}: ${describeError(planned)}`);
  log.info(
    `${state.entry.name}: ${planned.length} strategies: ${planned.map((s) => `${s.nodes}x${s.perNode} ${s.type} ${s.when}`).join(', ')}`,
  );
  const startable = planned.filter((s) => s.when !== 'never');
  const race =
    startable.length > 1
      ? [
          {
            label: `$(zap) Race the top ${Math.min(3, startable.length)}`,
            description: 'submit them all: the first to start wins, the others are cancelled',
            race: true as const,
          },
        ]
      : [];
  const picked = await vscode.window.showQuickPick(
    [
      ...race,
      ...planned.map((s) => ({
        label: `${s.nodes} × ${s.perNode} ${s.type}`,
        description: `${s.partition} · ${when(s)}`,
        detail: `${s.gpu ? `${s.gpu} · ` : ''}${s.cost.toFixed(1)} GPU-hours · ${formatSlurmTime(s.minutes)}`,
        strategy: s,
      })),
    ],
    {
      title: `Reserve ${request.count} GPU(s) on ${state.entry.name} for ${formatSlurmTime(request.minutes)}`,
      placeHolder: 'Best first; pick one to submit it as a gpudev holder job',
    },
  );
  if (!picked) return;
  if ('race' in picked) {
    const raced = await state.cluster.race(
      planned,
      `x${request.count}`,
      3,
      state.entry.scratch,
      state.entry.attach === 'job-sshd',
    );
    if ('message' in raced)
      return void vscode.window.showErrorMessage(`Racing on ${state.entry.name} failed: ${describeError(raced)}`);
    log.info(`${state.entry.name}: race ${raced.raceId}: jobs ${raced.jobIds.join(', ')}`);
    void vscode.window.showInformationMessage(
      `Racing ${raced.jobIds.length} reservations on ${state.entry.name} (jobs ${raced.jobIds.join(', ')}): the first to start wins.`,
    );
    state.watch.refresh();
    reservations.setVisible(true);
    return;
  }
  if (picked.strategy.when === 'never')
    return void vscode.window.showErrorMessage(`That strategy cannot run: ${picked.strategy.reason ?? ''}`);
  const jobId = await state.cluster.submit(
    picked.strategy,
    `${picked.strategy.type}x${request.count}`,
    state.entry.scratch,
    state.entry.attach === 'job-sshd',
  );
  if (typeof jobId !== 'string')
    return void vscode.window.showErrorMessage(`Submitting to ${state.entry.name} failed: ${describeError(jobId)}`);
  log.info(`${state.entry.name}: submitted job ${jobId}`);
  void vscode.window.showInformationMessage(
    `Submitted reservation ${jobId} on ${state.entry.name}: ${picked.label}, ${when(picked.strategy)}.`,
  );
  state.watch.refresh();
  reservations.setVisible(true);
}

type JobNode = Extract<ReservationNode, { kind: 'reservation' }>;

/** Escape, the dialog's close and this button keep the reservation (VS Code always gives a modal a dismiss button: this is it). */
const KEEP: vscode.MessageItem = { title: 'Keep Reservation', isCloseAffordance: true };
const CANCEL: vscode.MessageItem = { title: 'Cancel Reservation' };

export async function cancelReservation(reservations: Reservations, node: JobNode | undefined): Promise<void> {
  const state = node && reservations.get(node.cluster);
  if (!node || !state) return;
  const { job } = node;
  const held = job.state === 'RUNNING' ? `on ${job.nodes}, ${job.timeLeft} left` : job.state.toLowerCase();
  const choice = await vscode.window.showWarningMessage(
    `Cancel reservation ${job.jobId} (${job.name}) on ${node.cluster}?`,
    {
      modal: true,
      detail: `Job ${job.jobId} holds ${job.gres.replace(/^gres:/, '')} (${held}). Its GPUs go back to the cluster; anything running in the allocation stops.`,
    },
    CANCEL,
    KEEP,
  );
  if (choice !== CANCEL) return;
  const failed = await state.cluster.cancel([job.jobId]);
  if (failed) return void vscode.window.showErrorMessage(describeError(failed));
  state.watch.refresh();
}

/** The script Slurm holds for the job, in a read-only editor titled job-<id>.sh. */
export async function showJobScript(reservations: Reservations, node: JobNode | undefined): Promise<void> {
  if (!node) return;
  const failed = await reservations.jobScripts.show(node.cluster, node.job.jobId);
  if (failed)
    void vscode.window.showErrorMessage(`Cannot show the script of job ${node.job.jobId}: ${describeError(failed)}`);
}
