// "Cosplay as…" on a running reservation: a target, a plan against the GPU the job's node really has,
// then a process session inside the allocation (its MPS daemon and sshd steps of the job, so they end
// with it), opened through the login node in Remote-SSH or a terminal.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GpuEntry } from '../catalog/schema';
import { describeError } from '../core/errors';
import { newSessionName } from '../cosplay/apply';
import { localOwner } from '../cosplay/hostJournal';
import { readTestHostProfile, shimArchive } from '../cosplay/hostProfile';
import { applyProcessSession, notAppliedNote, processRefusal } from '../cosplay/process/processSession';
import { probeGpus } from '../hosts/gpuProbe';
import { LocalRunner } from '../hosts/runner';
import { createSshRunner } from '../hosts/sshHosts';
import type { SshRunner } from '../hosts/sshRunner';
import { AllocationRunner } from '../reserve/allocationRunner';
import { jobGpu } from '../reserve/jobGpu';
import { defaultSshConfigFile, firstNode, gpudevKnownHosts } from '../reserve/attach';
import { prepareSessionEntry, sessionKey } from '../remote/sessionHostEntry';
import { cosplay } from './cosplayModule';
import { pickTarget } from './targetPicker';
import { openSessionWindow } from './processAttach';
import type { GpuTreeNode } from './gpuTree';
import type { ReservationHosts } from './reservationHosts';
import type { ReservationNode, Reservations } from './reservations';

type JobNode = Extract<ReservationNode, { kind: 'reservation' }>;

/**
 * The plan for the job's GPU `gpuUuid` (the GPUs view's choice), else its first, on its first node: MPS
 * rather than MIG, which needs root.
 */
async function planInJob(allocation: AllocationRunner, target: GpuEntry, gpuUuid?: string) {
  const visible = (await allocation.run(['printenv', 'CUDA_VISIBLE_DEVICES'])).stdout.trim();
  const probe = await probeGpus(allocation);
  if (probe.kind !== 'gpus') return describeError(probe.error);
  const gpu = jobGpu(probe.gpus, visible, allocation.jobId, gpuUuid);
  if (typeof gpu === 'string') return gpu;
  const catalog = cosplay().builtinCatalog();
  const known = catalog.byNvmlName(gpu.name);
  const model = known ? undefined : await cosplay().probeHostModel(allocation, gpu.index);
  if (typeof model === 'string') return `GPU ${gpu.index} (${gpu.name}): ${model}`;
  const host = known ?? model!.entry;
  const request = { target, host, hostGpuCount: probe.gpus.length };
  let planned = cosplay().planCosplay(request);
  if (planned.ok && processRefusal(planned.plan)) planned = cosplay().planCosplay({ ...request, strategy: 'mps' });
  if (!planned.ok) return describeError(planned.error);
  return { plan: planned.plan, gpuIndex: gpu.index };
}

/** The reservation whose node holds a GPU of the GPUs view, as the Reservations view's node for that job. */
export function reservationOfGpu(
  hosts: ReservationHosts,
  node: GpuTreeNode | undefined,
): { readonly job: JobNode; readonly gpuUuid?: string } | undefined {
  const found = node?.kind === 'gpu' ? hosts.jobOf(node.host) : undefined;
  if (!found || node?.kind !== 'gpu') return undefined;
  return { job: { kind: 'reservation', ...found }, ...(node.gpu.uuid && { gpuUuid: node.gpu.uuid }) };
}

export async function cosplayOnReservation(
  reservations: Reservations,
  node: JobNode | undefined,
  extensionUri: vscode.Uri,
  state: vscode.Memento,
  log: vscode.LogOutputChannel,
  gpuUuid?: string,
): Promise<void> {
  const cluster = node && reservations.get(node.cluster);
  if (!node || !cluster) return;
  const { jobId } = node.job;
  const jobNode = firstNode(node.job.nodes);
  if (node.job.state !== 'RUNNING' || !jobNode)
    return void vscode.window.showInformationMessage(`Job ${jobId} is not running yet: cosplay needs its node.`);
  const target = await pickTarget();
  if (!target) return;
  log.info(`cosplay ${target.key} in job ${jobId} on ${jobNode}${gpuUuid ? `, ${gpuUuid}` : ''}`);
  // A connection of its own to the login node: the session's lock is a program held open there.
  const login = await createSshRunner({ name: cluster.entry.name, ssh: cluster.entry.login }, new LocalRunner());
  if ('message' in login)
    return void vscode.window.showErrorMessage(`Cannot reach ${cluster.entry.login}: ${describeError(login)}`);
  try {
    const where = { runner: login, spec: cluster.entry.login, node: jobNode, gpuUuid };
    await cosplayInJob(node, where, target, extensionUri, state, log);
  } finally {
    login.close();
  }
}

async function cosplayInJob(
  node: JobNode,
  login: { readonly runner: SshRunner; readonly spec: string; readonly node: string; readonly gpuUuid?: string },
  target: GpuEntry,
  extensionUri: vscode.Uri,
  state: vscode.Memento,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const { jobId } = node.job;
  const jobNode = login.node;
  const allocation = new AllocationRunner(login.runner, jobId, jobNode);
  const loginSpec = login.spec;
  const planned = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Planning ${target.name} inside job ${jobId}` },
    () => planInJob(allocation, target, login.gpuUuid),
  );
  if (typeof planned === 'string') {
    log.warn(`cosplay in job ${jobId}: ${planned}`);
    return void vscode.window.showErrorMessage(`Cannot cosplay in job ${jobId}: ${planned}`);
  }
  const { plan, gpuIndex } = planned;
  const rootOnly = plan.mutations
    .filter((m) => m.change.kind !== 'mpsDaemon')
    .map((m) => `• ${notAppliedNote(m, plan)}`);
  const choice = await vscode.window.showWarningMessage(
    `Cosplay ${target.name} on ${plan.host.name} (GPU ${gpuIndex} of ${jobNode}) inside job ${jobId}?`,
    {
      modal: true,
      detail: `A process session: ${cosplay().planView(plan, { target: target.key, host: plan.host.key }).summary}. An MPS daemon and an sshd of your own start as steps of the job and end with it; the disguise is in every shell of that sshd.${rootOnly.length ? `\n\nWithout root:\n${rootOnly.join('\n')}` : ''}`,
    },
    'Apply',
  );
  if (choice !== 'Apply') return;
  const label = `${node.cluster}-job${jobId}`;
  const sessionName = newSessionName(target.key, gpuIndex);
  const files = { configFile: defaultSshConfigFile(), knownHostsFile: gpudevKnownHosts() };
  const local = new LocalRunner();
  const profile = await readTestHostProfile();
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Cosplay ${target.name} in job ${jobId}` },
    async (progress) => {
      const key = await sessionKey(path.dirname(files.configFile), local);
      if ('message' in key) return key;
      const applied = await applyProcessSession(
        {
          plan,
          gpuIndex,
          hostLabel: label,
          sessionName,
          owner: localOwner(),
          shimTar: await shimArchive(extensionUri.fsPath, 'shim'),
          authorizedKeys: [key.publicKey],
          jobStep: (argv, env) => allocation.startStep(argv, env),
          ...(profile && { extraEnv: profile.env }),
          onStep: (step) => {
            log.info(`cosplay in job ${jobId}: ${step}`);
            progress.report({ message: step });
          },
        },
        allocation,
      );
      if (!applied.ok)
        return {
          message: `failed at "${applied.failedStep}": ${describeError(applied.error)}${applied.restored ? ' (every earlier step was undone)' : ''}`,
        };
      const entry = await prepareSessionEntry({
        hostLabel: label,
        hostSpec: loginSpec,
        node: jobNode,
        sessionName,
        port: applied.session.sshd.port,
        folder: applied.session.folder,
        hostKey: applied.session.sshd.hostKey,
        hostRunner: allocation,
        local,
        files,
      });
      return 'message' in entry ? entry : { ...entry, folder: applied.session.folder };
    },
  );
  if ('message' in outcome) return void vscode.window.showErrorMessage(`Cosplay in job ${jobId}: ${outcome.message}`);
  log.info(`cosplay ${sessionName} in job ${jobId} on ${jobNode}: ${outcome.alias} in ${outcome.configFile}`);
  const home = outcome.folder.replace(/\/\.local\/state\/gpudev\/sessions\/.*$/, '') || '/';
  await openSessionWindow({ alias: outcome.alias, configFile: outcome.configFile, home, session: sessionName, state });
}
