import * as vscode from 'vscode';
import type * as Cosplay from '../cosplay/index';
import { describeError } from '../core/errors';
import { shortGpuName, type GpuSample } from '../hosts/gpu';
import type { Runner } from '../hosts/runner';
import type { GpuMonitor } from '../monitor/gpuMonitor';
import type { GpuTreeNode } from './gpuTree';
import { PlanPanel } from './planPanel';

let loaded: typeof Cosplay | undefined;
/** dist/cosplay.js, next to dist/extension.js, required on first use. */
function cosplay(): typeof Cosplay {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./cosplay.js') as typeof Cosplay;
  return loaded;
}

type GpuEntry = Cosplay.GpuEntry;
type HostChoice = { entry: GpuEntry; local?: { gpu: GpuSample; count: number } };

function entryItem(entry: GpuEntry): vscode.QuickPickItem & { entry: GpuEntry } {
  const tensor = entry.bf16Fp32Acc ?? entry.fp16Fp32Acc;
  return {
    label: shortGpuName(entry.name),
    description: `${(entry.vramMiB / 1024).toFixed(0)} GiB · ${entry.fp32Tflops} TFLOPS FP32${tensor ? ` · ${tensor} tensor` : ''}`,
    detail: entry.key,
    entry,
  };
}

function grouped(entries: readonly GpuEntry[], groupOf: (entry: GpuEntry) => string): Array<vscode.QuickPickItem & { entry?: GpuEntry }> {
  const items: Array<vscode.QuickPickItem & { entry?: GpuEntry }> = [];
  let group: string | undefined;
  for (const entry of entries) {
    if (groupOf(entry) !== group) {
      group = groupOf(entry);
      items.push({ label: group, kind: vscode.QuickPickItemKind.Separator });
    }
    items.push(entryItem(entry));
  }
  return items;
}

/** Families in catalog order, each from slowest to fastest. */
function byFamilyThenSpeed(entries: readonly GpuEntry[]): GpuEntry[] {
  const families = [...new Set(entries.map((e) => e.family))];
  return [...entries].sort((a, b) => families.indexOf(a.family) - families.indexOf(b.family) || a.fp32Tflops - b.fp32Tflops);
}

async function pickTarget(): Promise<GpuEntry | undefined> {
  const picked = await vscode.window.showQuickPick(grouped(byFamilyThenSpeed(cosplay().builtinCatalog().entries), (e) => e.family), {
    title: 'Cosplay as…', placeHolder: 'The GPU to develop as if on (type to filter: 3090, L4, A100…)', matchOnDescription: true, matchOnDetail: true,
  });
  return picked?.entry;
}

async function pickHostModel(): Promise<GpuEntry | undefined> {
  const entries = cosplay().builtinCatalog().entries;
  const ordered = [...entries.filter((e) => e.host), ...entries.filter((e) => !e.host)];
  const picked = await vscode.window.showQuickPick(grouped(ordered, (e) => (e.host ? 'Hosts with MIG' : 'Other GPUs (MPS or memory cap)')), {
    title: 'Plan for a host model', placeHolder: 'The big GPU that will play the part', matchOnDescription: true, matchOnDetail: true,
  });
  return picked?.entry;
}

function localChoice(gpu: GpuSample, count: number): HostChoice | string {
  const entry = cosplay().builtinCatalog().byNvmlName(gpu.name);
  return entry ? { entry, local: { gpu, count } } : `GPU ${gpu.index} (${gpu.name}) is not in the catalog yet: plan for a host model instead`;
}

async function pickHost(monitor: GpuMonitor): Promise<HostChoice | undefined> {
  const snapshot = monitor.snapshot ?? (await monitor.refresh());
  const gpus = snapshot.kind === 'gpus' ? snapshot.gpus : [];
  const items: Array<vscode.QuickPickItem & { gpu?: GpuSample }> = [
    ...gpus.map((gpu) => ({ label: `$(chip) GPU ${gpu.index}: ${gpu.name}`, description: 'this machine', gpu })),
    { label: '$(list-tree) Plan for a host model…', description: 'any GPU in the catalog; nothing is changed' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Cosplay on which host?', placeHolder: gpus.length ? 'A GPU of this machine, or a host model to plan for' : 'No GPU here: plan for a host model' });
  if (!picked) return undefined;
  if (!picked.gpu) {
    const entry = await pickHostModel();
    return entry && { entry };
  }
  const choice = localChoice(picked.gpu, gpus.length);
  if (typeof choice === 'string') {
    void vscode.window.showWarningMessage(choice);
    return undefined;
  }
  return choice;
}

async function migState(runner: Runner, gpu: GpuSample) {
  if (gpu.migMode !== 'Enabled') return undefined;
  const result = await runner.run(['nvidia-smi', 'mig', '-lgi', '-i', String(gpu.index)]);
  const { instances } = cosplay().parseMigInstances(result.stdout);
  return { enabled: true, instances: instances.filter((instance) => instance.gpu === gpu.index) };
}

export interface CosplayContext {
  readonly extensionUri: vscode.Uri;
  readonly monitor: GpuMonitor;
  readonly runner: Runner;
  readonly log: vscode.LogOutputChannel;
}

/** "Cosplay as…": target, host, then the plan in its panel. Changes nothing on the host. */
export async function cosplayAs(context: CosplayContext, targetKey?: string, node?: GpuTreeNode): Promise<void> {
  const catalog = cosplay().builtinCatalog();
  const found = targetKey ? catalog.lookup(targetKey) : undefined;
  const target = found?.ok ? found.entry : await pickTarget();
  if (!target) return;
  let host: HostChoice | undefined;
  if (node?.kind === 'gpu') {
    const snapshot = context.monitor.snapshot;
    const choice = localChoice(node.gpu, snapshot?.kind === 'gpus' ? snapshot.gpus.length : 1);
    if (typeof choice === 'string') return void vscode.window.showWarningMessage(choice);
    host = choice;
  } else host = await pickHost(context.monitor);
  if (!host) return;
  const hostMig = host.local ? await migState(context.runner, host.local.gpu) : undefined;
  const result = cosplay().planCosplay({ target, host: host.entry, hostGpuCount: host.local?.count, hostMig });
  if (!result.ok) {
    context.log.info(`plan refused: ${describeError(result.error)}`);
    return void vscode.window.showErrorMessage(describeError(result.error));
  }
  context.log.info(`planned ${target.key} on ${host.entry.key}: ${result.plan.chosen.strategy}`);
  PlanPanel.show(context.extensionUri, cosplay().planView(result.plan, { target: target.key, host: host.entry.key }), context.log);
}
