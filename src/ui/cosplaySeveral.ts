// "Cosplay Several GPUs as…": the count of target GPUs (consecutive host GPUs from the one picked, or
// MIG slices of it), each GPU planned against its own MIG state and sessions, shown as one plan.
import * as vscode from 'vscode';
import type * as Cosplay from '../cosplay/index';
import { liveSessionOf } from '../cosplay/session';
import { describeError } from '../core/errors';
import type { GpuSample } from '../hosts/gpu';
import type { CosplayContext } from './cosplayCommands';

export interface SeveralGpus {
  readonly gpus: readonly Cosplay.PlannedGpu[];
  /** Host GPU indices as `--gpu` takes them (an index twice: two MIG slices of it). */
  readonly indices: readonly number[];
  /** The first GPU's plan with every GPU's changes, for the plan panel and the Apply dialog. */
  readonly shown: Cosplay.CosplayPlan;
}

type CountItem = vscode.QuickPickItem & { indices: number[] };

function countItems(gpu: GpuSample, all: readonly GpuSample[], mig: boolean): CountItem[] {
  const after = all.filter((g) => g.index >= gpu.index).sort((a, b) => a.index - b.index);
  const items: CountItem[] = [];
  for (let n = 2; n <= Math.min(8, after.length); n++) {
    const indices = after.slice(0, n).map((g) => g.index);
    items.push({ label: `${n} GPUs`, description: `GPUs ${indices.join(', ')}`, indices });
  }
  if (mig)
    for (let n = 2; n <= 4; n++)
      items.push({
        label: `${n} MIG slices of GPU ${gpu.index}`,
        description: 'one container; one CUDA process sees one MIG slice',
        indices: Array<number>(n).fill(gpu.index),
      });
  return items;
}

/** Asks how many target GPUs and plans them; undefined when the user cancels or the plan is refused (said). */
export async function planSeveral(
  cosplay: typeof Cosplay,
  context: CosplayContext,
  target: Cosplay.GpuEntry,
  entry: Cosplay.GpuEntry,
  on: { readonly host: string; readonly gpu: GpuSample; readonly count: number },
): Promise<SeveralGpus | undefined> {
  const all = context.hosts().find((h) => h.name === on.host)?.monitor.lastGood?.gpus ?? [on.gpu];
  const items = countItems(on.gpu, all, Boolean(entry.host?.migProfiles.length));
  if (!items.length) {
    void vscode.window.showErrorMessage(
      `${on.host} has no other GPU after GPU ${on.gpu.index} and its ${entry.name} has no MIG: one GPU only`,
    );
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: `How many ${target.name} GPUs?`,
    placeHolder: 'Several target GPUs in one container',
  });
  if (!picked) return undefined;
  const runner = context.runnerOf(on.host);
  const slots: Cosplay.GpuSlot[] = [];
  for (const index of picked.indices) {
    const gpu = all.find((g) => g.index === index) ?? on.gpu;
    slots.push({
      index,
      hostMig: runner ? await cosplay.migStateOf(runner, gpu) : undefined,
      liveSessions: context.sessions
        .on(on.host, gpu)
        .filter((s) => s.running)
        .map(liveSessionOf),
    });
  }
  const result = cosplay.planMultiCosplay({ target, host: entry, hostGpuCount: on.count }, slots);
  if (!result.ok) {
    context.log.info(`multi-GPU plan refused: ${describeError(result.error)}`);
    void vscode.window.showErrorMessage(describeError(result.error));
    return undefined;
  }
  const first = result.gpus[0]!;
  const several = result.gpus.length > 1;
  const shown: Cosplay.CosplayPlan = {
    ...first.plan,
    mutations: result.gpus.flatMap((g) =>
      g.plan.mutations.map((m) => ({
        ...m,
        description: several ? `GPU ${g.gpuIndex}: ${m.description}` : m.description,
        run: { ...m.run, argv: m.run.argv.map((word) => word.replace(/\{gpu\}/g, String(g.gpuIndex))) },
      })),
    ),
    container: {
      ...first.plan.container,
      device: several
        ? `the UUIDs of GPUs ${result.gpus.map((g) => g.gpuIndex).join(', ')}`
        : first.plan.container.device,
    },
  };
  return { gpus: result.gpus, indices: picked.indices, shown };
}
