import * as vscode from 'vscode';
import type * as Cosplay from '../cosplay/index';
import { describeError } from '../core/errors';
import type { GpuSample } from '../hosts/gpu';
import { LOCAL_HOST, type Runner } from '../hosts/runner';
import { parseHostEntries } from '../hosts/sshHosts';
import type { GpuMonitor } from '../monitor/gpuMonitor';
import type { GpuTreeNode } from './gpuTree';
import type { ApplyContext } from './applyCosplay';
import { applyAs, applyButtons, applyChosen, dockerOn, kindOf, kindsOf } from './applyChoice';
import { planForProcesses, processDetail } from '../cosplay/process/applyKind';
import { planSeveral } from './cosplaySeveral';
import { PlanPanel } from './planPanel';
import { liveSessionOf } from '../cosplay/session';
import type { PlanGpu } from '../cosplay/planText';
import { DEFAULT_COSPLAY_IMAGE } from '../cosplay/hostProfile';
import { isSimulatedHost, machineSetting } from './settings';
import { cosplay } from './cosplayModule';
import { pickHostModel, pickTarget } from './targetPicker';

type GpuEntry = Cosplay.GpuEntry;
/** The catalog model to plan for, and the real GPU when there is one (a plan for a model alone cannot be applied). */
type HostChoice = {
  entry: GpuEntry;
  on?: { host: string; gpu: GpuSample; count: number };
  /** What the plan says first: a host model's figures, or MIG profiles only the GPU reported. */
  notes?: readonly string[];
};

/** A GPU the catalog lacks is planned from what it reports (its figures marked in the plan). */
async function gpuChoice(
  context: CosplayContext,
  host: string,
  gpu: GpuSample,
  count: number,
): Promise<HostChoice | string> {
  const entry = cosplay().builtinCatalog().byNvmlName(gpu.name);
  const runner = context.runnerOf(host);
  if (entry) {
    const completed = runner ? await cosplay().withHostMigProfiles(runner, gpu.index, entry) : { entry };
    return { entry: completed.entry, notes: completed.note ? [completed.note] : [], on: { host, gpu, count } };
  }
  const model = runner ? await cosplay().probeHostModel(runner, gpu.index) : `${host} is not reachable`;
  return typeof model === 'string'
    ? `GPU ${gpu.index} (${gpu.name}) is not in the catalog, and its own report gives no model: ${model}`
    : { entry: model.entry, notes: cosplay().hostModelNotes(model), on: { host, gpu, count } };
}

const gpusOf = (monitor: GpuMonitor) => monitor.lastGood?.gpus ?? [];

async function pickHost(context: CosplayContext, applying: boolean): Promise<HostChoice | undefined> {
  const hosts = context.hosts();
  if (!hosts[0]?.monitor.snapshot) await hosts[0]?.monitor.refresh();
  const items: Array<vscode.QuickPickItem & { host?: string; gpu?: GpuSample; count?: number }> = [
    ...hosts.flatMap(({ name, monitor }) =>
      gpusOf(monitor).map((gpu, _, all) => ({
        label: `$(chip) GPU ${gpu.index}: ${gpu.name}`,
        description: name,
        host: name,
        gpu,
        count: all.length,
      })),
    ),
    ...(applying
      ? []
      : [{ label: '$(list-tree) Plan for a host model…', description: 'any GPU in the catalog; nothing is changed' }]),
  ];
  if (applying && items.length === 0)
    return void vscode.window.showErrorMessage(
      'No GPU to apply a cosplay on: the GPUs view shows none on this machine or on your SSH hosts.',
    );
  const picked = await vscode.window.showQuickPick(items, {
    title: applying ? 'Apply the cosplay on which GPU?' : 'Cosplay on which host?',
    placeHolder:
      items.length > 1
        ? 'A GPU of this machine or an SSH host, or a host model to plan for'
        : 'No GPU here: plan for a host model',
  });
  if (!picked) return undefined;
  if (!picked.gpu) {
    const entry = await pickHostModel();
    return entry && { entry };
  }
  const choice = await gpuChoice(context, picked.host!, picked.gpu, picked.count!);
  if (typeof choice === 'string') return void vscode.window.showWarningMessage(choice);
  return choice;
}

/** MPS sessions share the host's IPC namespace: said before anything is applied. */
function ipcNote(plan: Cosplay.CosplayPlan): string {
  return plan.chosen.mpsThreadPercent !== null
    ? ", sharing the host's IPC namespace (--ipc=host: MPS clients need the daemon's shared memory)"
    : '';
}

/** How `gpudev cosplay up` reaches the GPU: the host's ssh target, its sudo setting, the user's image. */
function planGpu(on: NonNullable<HostChoice['on']>): PlanGpu {
  const entry =
    on.host === LOCAL_HOST
      ? undefined
      : parseHostEntries(machineSetting('hosts')).hosts.find((h) => h.name === on.host);
  const sudo = on.host === LOCAL_HOST ? machineSetting<boolean>('cosplay.sudo') : entry?.sudo;
  const setImage = machineSetting<string>('cosplay.image');
  const image = setImage && setImage !== DEFAULT_COSPLAY_IMAGE ? setImage : undefined;
  return {
    index: on.gpu.index,
    uuid: on.gpu.uuid,
    ...(entry && { sshTarget: entry.ssh }),
    ...(sudo && { sudo }),
    ...(image && { image }),
  };
}

/** The note naming the processes on the GPU, or undefined (also when they cannot be read: said in the log). */
async function inUseNote(
  runner: Runner | undefined,
  on: NonNullable<HostChoice['on']>,
  plan: Cosplay.CosplayPlan,
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  if (!runner || !on.gpu.uuid) return undefined;
  const found = await cosplay().processesOnGpu(runner, on.gpu.uuid);
  if ('message' in found) return void log.warn(`processes on GPU ${on.gpu.index} of ${on.host}: ${found.message}`);
  return cosplay().busyNote(
    found,
    on.gpu,
    plan.mutations.some((m) => m.gpuWide),
  );
}

export interface CosplayContext extends ApplyContext {
  /** Every host of the GPUs view with its monitor, this machine first. */
  hosts(): ReadonlyArray<{ readonly name: string; readonly monitor: GpuMonitor }>;
  runnerOf(host: string): Runner | undefined;
}

/**
 * "Cosplay as…": target, host, then the plan in its panel (nothing changes until its Apply); with
 * `apply`, straight to applying it ("Apply Cosplay…"); with `several`, a count of target GPUs too.
 */
export async function cosplayAs(
  context: CosplayContext,
  targetKey?: string,
  node?: GpuTreeNode,
  apply = false,
  several = false,
): Promise<void> {
  const catalog = cosplay().builtinCatalog();
  const found = targetKey ? catalog.lookup(targetKey) : undefined;
  const target = found?.ok ? found.entry : await pickTarget();
  if (!target) return;
  let host: HostChoice | undefined;
  if (node?.kind === 'gpu') {
    const monitor = context.hosts().find((h) => h.name === node.host)?.monitor;
    const choice = await gpuChoice(context, node.host, node.gpu, monitor ? gpusOf(monitor).length : 1);
    if (typeof choice === 'string') return void vscode.window.showWarningMessage(choice);
    host = choice;
  } else host = await pickHost(context, apply);
  if (!host) return;
  const on = host.on;
  const runner = on && context.runnerOf(on.host);
  const hostMig = on && runner ? await cosplay().migStateOf(runner, on.gpu) : undefined;
  const liveSessions = on
    ? context.sessions
        .on(on.host, on.gpu)
        .filter((s) => s.running)
        .map(liveSessionOf)
    : undefined;
  const multi = several && on ? await planSeveral(cosplay(), context, target, host.entry, on) : undefined;
  if (several && !multi) return;
  // Docker decides how the plan is applied; without it and without sudo a process session makes no MIG slice.
  const docker = on && (await dockerOn(context, on.host));
  const noDocker = !!docker && typeof docker !== 'string' && docker.problem !== undefined;
  const forProcesses = noDocker && typeof docker !== 'string' && planForProcesses(docker.problem, docker.sudo);
  const result = multi
    ? { ok: true as const, plan: multi.shown }
    : cosplay().planCosplay({
        target,
        host: host.entry,
        hostGpuCount: on?.count,
        hostMig,
        liveSessions,
        ...(forProcesses && { strategy: 'mps' as const }),
      });
  if (!result.ok) {
    context.log.info(`plan refused: ${describeError(result.error)}`);
    return void vscode.window.showErrorMessage(describeError(result.error));
  }
  context.log.info(`planned ${target.key} on ${host.entry.key}: ${result.plan.chosen.strategy}`);
  const plan = cosplay().withPlanNotes(result.plan, host.notes ?? []);
  const planArgs = {
    target: target.key,
    host: host.entry.key,
    ...(on && { gpu: planGpu(on) }),
    ...(multi && { gpuList: multi.indices }),
  };
  const inUse = on && (await inUseNote(runner, on, plan, context.log));
  if (apply && on) {
    const kinds = kindsOf(plan, on, docker!, multi?.gpus);
    if (!kinds.ok)
      return void vscode.window.showErrorMessage(`Cannot apply the cosplay: ${describeError(kinds.error)}`);
    const sudo = typeof docker !== 'string' && !!docker?.sudo;
    const changes =
      plan.mutations.map((m) => `• ${m.description}${m.gpuWide ? ' (whole GPU)' : ''}`).join('\n') ||
      '• none: a container only';
    const inContainer = `Host changes, each written to the host's journal first and undone if a later step fails and when the session stops:\n${changes}\n\nThen a container with the shim (${cosplay().planView(plan, planArgs).summary})${ipcNote(plan)}.`;
    const asProcesses = `As processes: ${processDetail(plan, sudo)}`;
    const choice = await vscode.window.showWarningMessage(
      `Cosplay ${target.name}${multi ? ` ×${plan.gpuCount}` : ''} on ${on.host}, GPU ${multi ? multi.indices.join(', ') : on.gpu.index}?`,
      {
        modal: true,
        detail: `${inUse ? `${inUse}\n\n` : ''}${kinds.kinds[0] === 'process' ? `${kinds.note ?? ''}.\n\n${asProcesses}` : `${inContainer}${kinds.kinds.length > 1 ? `\n\n${asProcesses}` : ''}`}`,
      },
      ...applyButtons(kinds.kinds),
      'Show Plan',
    );
    const kind = kindOf(kinds.kinds, choice);
    if (kind) return void (await applyAs(kind, context, plan, on, multi?.gpus));
    if (choice !== 'Show Plan') return;
  }
  const applicable = on && {
    enabled: true,
    note: noDocker
      ? `Applies on ${on.host}, GPU ${on.gpu.index} as processes (Docker is not usable there): an MPS daemon and an sshd of your own${forProcesses ? '; the clock and power changes below need root, which this host has not (its sudo setting is off)' : ', the host changes below with sudo'}.`
      : `Applies on ${on.host}, GPU ${multi ? multi.indices.join(', ') : on.gpu.index}: the host changes listed below, then a container with the shim${ipcNote(plan)}.`,
  };
  const simulated = on && isSimulatedHost(on.host) ? cosplay().simulatedNote(on.host) : undefined;
  const view = cosplay().planView(plan, planArgs, applicable, { inUse, simulated });
  PlanPanel.show(
    context.extensionUri,
    view,
    context.log,
    on ? () => applyChosen(context, plan, on, multi?.gpus) : undefined,
  );
}
