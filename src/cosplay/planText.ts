import { alignColumns } from '../core/textTable';
import { TOLERANCE, type FidelityRow } from './fidelity';
import type { CosplayPlan, HostCommand, Strategy, StrategyOption } from './planner';

export interface PlanArgs {
  readonly target: string;
  readonly host: string;
  readonly gpuCount?: number;
  readonly strategy?: Strategy;
}

/** The `gpudev plan …` line that reproduces a plan, every argument shell-quoted. */
export function planCommandLine(args: PlanArgs): string {
  const quote = (word: string) => (/^[\w.:@%+=,/-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  return [
    'gpudev',
    'plan',
    args.target,
    '--host',
    args.host,
    ...(args.gpuCount && args.gpuCount !== 1 ? ['--num', String(args.gpuCount)] : []),
    ...(args.strategy ? ['--strategy', args.strategy] : []),
  ]
    .map(quote)
    .join(' ');
}

export function formatValue(row: FidelityRow, value: number | string | null): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value;
  if (row.unit === 'MiB') return `${(value / 1024).toFixed(1)} GiB`;
  return `${Number.isInteger(value) ? value : value.toFixed(1)}${row.unit && row.unit !== 'SMs' ? ` ${row.unit}` : ''}`;
}

export function commandText(command: HostCommand): string {
  const env = Object.entries(command.env ?? {})
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  return `${env}${command.argv.join(' ')}${command.stdin ? `  (stdin: ${JSON.stringify(command.stdin)})` : ''}`;
}

export function strategySummary(plan: CosplayPlan): string {
  const c = plan.chosen;
  const parts = [
    c.strategy === 'mig'
      ? `MIG ${c.migProfile!.name} (${c.migProfile!.smCount} SMs)`
      : c.strategy === 'mps'
        ? `MPS at ${c.mpsThreadPercent}% of SMs`
        : 'memory cap only',
    c.clockLockMHz !== null ? `clocks locked at ${c.clockLockMHz} MHz` : 'clocks unlocked',
    ...(c.memoryClockShare !== null ? [`memory clocks at most ${Math.round(c.memoryClockShare * 100)}%`] : []),
    plan.powerCapW !== null ? `power capped at ${plan.powerCapW} W` : 'power limit unchanged',
  ];
  return parts.join(', ');
}

export function fp32Remark(plan: CosplayPlan, option: StrategyOption): string {
  if (!option.fp32Reachable) return ', too slow';
  return option.delivered.throughput.fp32! > plan.target.fp32Tflops * (1 + TOLERANCE) ? ', too fast' : '';
}

/** The plan as a person reads it in a terminal. */
export function formatPlan(plan: CosplayPlan, args: PlanArgs): string {
  const rows = plan.fidelity.map((r) => [
    r.metric,
    formatValue(r, r.target),
    formatValue(r, r.predicted),
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
    r.verdict,
  ]);
  const header = ['metric', 'target', 'cosplay', 'ratio', 'verdict'];
  const gpus = plan.gpuCount === 1 ? '' : ` ×${plan.gpuCount}`;
  return [
    `Cosplay ${plan.target.name}${gpus} on ${plan.host.name}: ${strategySummary(plan)}`,
    '',
    ...alignColumns([header, ...rows], [0, 4]),
    '',
    'Host changes, in order (each undone in reverse on failure or stop):',
    ...(plan.mutations.length
      ? plan.mutations.map(
          (m, i) => `  ${i + 1}. ${m.description}${m.gpuWide ? ' [whole GPU]' : ''}\n     ${commandText(m.run)}`,
        )
      : ['  none']),
    '',
    `Container: device ${plan.container.device}`,
    ...Object.entries(plan.container.env).map(([k, v]) => `  ${k}=${v}`),
    ...(plan.warnings.length ? ['', 'Warnings:', ...plan.warnings.map((w) => `  - ${w}`)] : []),
    '',
    `Other strategies: ${plan.alternatives.map((a) => `${a.strategy} (FP32 ${a.delivered.throughput.fp32!.toFixed(1)} TFLOPS${fp32Remark(plan, a)})`).join('; ') || 'none'}`,
    `Reproduce: ${planCommandLine(args)}`,
  ].join('\n');
}
