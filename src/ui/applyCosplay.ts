import * as vscode from 'vscode';
import { applyCosplay, newSessionName } from '../cosplay/apply';
import type { BusyProcess } from '../cosplay/busyGpu';
import { localOwner } from '../cosplay/hostJournal';
import { DEFAULT_COSPLAY_IMAGE, shimArchive } from '../cosplay/hostProfile';
import type { PlannedGpu } from '../cosplay/multiPlan';
import type { CosplayPlan } from '../cosplay/planner';
import type { Session } from '../cosplay/session';
import { describeError } from '../core/errors';
import type { DockerEngine } from '../hosts/docker';
import type { GpuSample } from '../hosts/gpu';
import type { CosplaySessions } from './cosplaySessions';
import { machineSetting } from './settings';
import { workspaceSession } from './workspaceDefaults';

export interface ApplyContext {
  readonly extensionUri: vscode.Uri;
  readonly sessions: CosplaySessions;
  readonly log: vscode.LogOutputChannel;
}

/** Where a plan is applied: one GPU of a host the GPUs view shows. */
export interface ApplyTarget {
  readonly host: string;
  readonly gpu: GpuSample;
}

/** Other users' processes on the GPU: the user decides, in a modal, whether to change MIG mode, clocks and power under them. */
export async function confirmBusyGpu(on: ApplyTarget, processes: readonly BusyProcess[]): Promise<boolean> {
  const listed = processes
    .map(
      (p) =>
        `• ${p.pid} ${p.name} — ${p.user ?? 'owner unknown'}${p.memoryMiB !== null ? `, ${(p.memoryMiB / 1024).toFixed(1)} GiB` : ''}`,
    )
    .join('\n');
  const choice = await vscode.window.showWarningMessage(
    `GPU ${on.gpu.index} of ${on.host} is in use by other users`,
    {
      modal: true,
      detail: `${listed}\n\nChanging its MIG mode, clocks or power limit affects their work (a MIG mode change fails while they run).`,
    },
    'Change It Anyway',
  );
  return choice === 'Change It Anyway';
}

/** `.gpudev.yaml`'s `setup` once in the new session's container (a login shell there); a failure is said, the session stays. */
async function runSetup(context: ApplyContext, docker: DockerEngine, session: Session, setup: string): Promise<void> {
  const done = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Running .gpudev.yaml's setup in ${session.name}` },
    () => docker.exec(session.containerId!, ['sh', '-lc', setup]).catch((error: unknown) => error as Error),
  );
  if (done instanceof Error || done.exitCode !== 0) {
    const why =
      done instanceof Error ? done.message : `exit ${done.exitCode}: ${done.stderr.trim().split('\n').pop() ?? ''}`;
    context.log.warn(`${session.name}: setup failed (${why})`);
    void vscode.window.showWarningMessage(`.gpudev.yaml's setup failed in ${session.name} (${why}); the session runs.`);
    return;
  }
  context.log.info(`${session.name}: setup done\n${done.stdout.slice(-4000)}`);
}

/**
 * Applies a plan with a cancellable progress notification; says which step failed and whether the
 * host was restored. `gpus`: a session of several GPUs (`plan` is then the one shown for all of them).
 */
export async function applyPlan(
  context: ApplyContext,
  plan: CosplayPlan,
  on: ApplyTarget,
  gpus?: readonly PlannedGpu[],
): Promise<Session | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage(
      'Applying a cosplay changes the GPU host and starts a container: trust this folder first.',
    );
    return undefined;
  }
  const host = await context.sessions.host(on.host);
  if (typeof host === 'string') {
    void vscode.window.showErrorMessage(`Cannot apply the cosplay: ${host}.`);
    return undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
  const fromWorkspace = await workspaceSession();
  const image =
    host.testProfile?.image ??
    fromWorkspace?.image ??
    (machineSetting<string>('cosplay.image') || DEFAULT_COSPLAY_IMAGE);
  if (fromWorkspace?.ignored.length)
    context.log.warn(`.gpudev.yaml env: ${fromWorkspace.ignored.join(', ')} left out (the plan sets them)`);
  const indices = gpus ? gpus.flatMap((g) => Array<number>(g.slices).fill(g.gpuIndex)) : [on.gpu.index];
  const where = `GPU ${[...new Set(indices)].join(', ')}`;
  const title = `Cosplay ${plan.target.name}${indices.length > 1 ? ` ×${indices.length}` : ''} on ${on.host}, ${where}`;
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      const sessionName = newSessionName(plan.target.key, gpus && gpus.length > 1 ? indices : on.gpu.index);
      context.log.info(`${title}: applying as ${sessionName} (image ${image})`);
      return applyCosplay(
        {
          plan: gpus?.[0]?.plan ?? plan,
          gpuIndex: on.gpu.index,
          ...(gpus && { gpus }),
          hostLabel: on.host,
          sessionName,
          image,
          sudo: host.sudo,
          owner: localOwner(),
          confirmBusy: (processes) => confirmBusyGpu(on, processes),
          pauseMonitor: () => host.pauseMonitor(),
          shimTar: await shimArchive(context.extensionUri.fsPath),
          workspace: folder,
          gpuRequest: !host.testProfile,
          extraBinds: host.testProfile?.binds,
          extraEnv: { ...fromWorkspace?.env, ...host.testProfile?.env },
          signal: abort.signal,
          onStep: (step) => {
            context.log.info(`${sessionName}: ${step}`);
            progress.report({ message: step });
          },
        },
        host.runner,
        host.docker,
      );
    },
  );
  await context.sessions.refresh(on.host);
  if (!outcome.ok) {
    const undone = outcome.restored
      ? 'Every earlier step was undone: the host is as it was.'
      : `Some steps could not be undone: ${outcome.undoFailures.join('; ')}. Run "GPU: Clean Up Orphans" or undo them by hand.`;
    context.log.error(
      `${title}: failed at "${outcome.failedStep}": ${describeError(outcome.error)}; restored: ${outcome.restored}`,
    );
    const cancelled = outcome.error.message === 'cancelled';
    const message = cancelled
      ? `Cosplay cancelled at "${outcome.failedStep}". ${undone}`
      : `Cosplay failed at "${outcome.failedStep}": ${describeError(outcome.error)}. ${undone}`;
    void (outcome.restored
      ? vscode.window.showErrorMessage(message)
      : vscode.window.showErrorMessage(message, { modal: true }));
    return undefined;
  }
  const session = outcome.session;
  context.log.info(`${session.name} is running`);
  if (fromWorkspace?.setup && session.containerId) await runSetup(context, host.docker, session, fromWorkspace.setup);
  void vscode.window
    .showInformationMessage(
      `${plan.target.name} session ${session.name} is running on ${on.host}, ${where}.`,
      'Open Terminal',
      'Verify',
    )
    .then((choice) => {
      if (choice === 'Open Terminal') void vscode.commands.executeCommand('gpuDev.openSessionTerminal', session.name);
      if (choice === 'Verify') void vscode.commands.executeCommand('gpuDev.verifySession', session.name);
    });
  return session;
}
