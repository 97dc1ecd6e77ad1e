import { TOLERANCE } from './fidelity';
import type { CosplayPlan } from './planner';
import {
  formatValue,
  fp32Remark,
  planCommandLine,
  shownCommand,
  shownDevice,
  strategySummary,
  type PlanArgs,
} from './planText';

/** Everything the plan webview shows, as plain data (it is posted to the webview and validated there). */
export interface PlanView {
  readonly title: string;
  readonly summary: string;
  readonly rows: ReadonlyArray<{
    metric: string;
    target: string;
    predicted: string;
    ratio: string;
    verdict: string;
    level: 'match' | 'off' | 'info';
  }>;
  readonly mutations: ReadonlyArray<{ description: string; command: string; gpuWide: boolean }>;
  /** The GPU or MIG device the container gets: its UUID when known, else in words. */
  readonly device: { readonly text: string; readonly known: boolean };
  readonly env: ReadonlyArray<{ name: string; value: string }>;
  readonly warnings: readonly string[];
  readonly alternatives: readonly string[];
  readonly commandLine: string;
  /** Whether the plan's Apply button works, and a sentence under it. */
  readonly apply: { readonly enabled: boolean; readonly note: string };
  /** Who else computes on the GPU (see `busyNote`): said before anything is applied. */
  readonly inUse?: string;
  /** Set for a simulated host (the demo lab): that nothing here is a GPU. */
  readonly simulated?: string;
}

const MODEL_ONLY = {
  enabled: false,
  note: 'A plan for a host model: pick a real GPU (from the GPUs view or "Cosplay as…") to apply it.',
};

export function planView(
  plan: CosplayPlan,
  args: PlanArgs,
  apply: PlanView['apply'] = MODEL_ONLY,
  notes: { readonly inUse?: string; readonly simulated?: string } = {},
): PlanView {
  return {
    title: `${plan.target.name}${plan.gpuCount > 1 ? ` ×${plan.gpuCount}` : ''} on ${plan.host.name}`,
    summary: strategySummary(plan),
    rows: plan.fidelity.map((row) => ({
      metric: row.metric,
      target: formatValue(row, row.target),
      predicted: formatValue(row, row.predicted),
      ratio: row.ratio === null ? '' : `${row.ratio.toFixed(2)}×`,
      verdict: row.verdict,
      level:
        row.verdict === 'matches'
          ? 'match'
          : row.ratio !== null && Math.abs(row.ratio - 1) > TOLERANCE
            ? 'off'
            : 'info',
    })),
    mutations: plan.mutations.map((m) => ({
      description: m.description,
      command: shownCommand(m.run, args.gpu),
      gpuWide: m.gpuWide,
    })),
    device: shownDevice(plan.container.device, args.gpu),
    env: Object.entries(plan.container.env).map(([name, value]) => ({ name, value })),
    warnings: [...plan.warnings],
    alternatives: plan.alternatives.map(
      (a) => `${a.strategy}: FP32 ${a.delivered.throughput.fp32!.toFixed(1)} TFLOPS${fp32Remark(plan, a)}`,
    ),
    commandLine: planCommandLine(args),
    apply,
    ...(notes.inUse && { inUse: notes.inUse }),
    ...(notes.simulated && { simulated: notes.simulated }),
  };
}
