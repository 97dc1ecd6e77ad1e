import { alignColumns } from '../core/textTable';
import { TOLERANCE, type FidelityRow } from './fidelity';
import type { CosplayPlan, HostCommand, Strategy, StrategyOption } from './planner';

/** The real GPU a plan is for, and how `gpudev cosplay up` would reach it. */
export interface PlanGpu {
  readonly index: number;
  readonly uuid: string | null;
  /** `--host` of `gpudev cosplay up` (an ssh alias or user@host[:port]); absent for this machine. */
  readonly sshTarget?: string;
  readonly sudo?: boolean;
  /** The session image, when the user set one. */
  readonly image?: string;
}

export interface PlanArgs {
  readonly target: string;
  /** The catalog key of the host model. */
  readonly host: string;
  readonly gpuCount?: number;
  readonly strategy?: Strategy;
  /** Absent for a plan for a host model alone. */
  readonly gpu?: PlanGpu;
  /** A session of several host GPUs (an index twice: MIG slices of it), the first being `gpu`. */
  readonly gpuList?: readonly number[];
}

/**
 * The line that reproduces a plan, every argument shell-quoted: `gpudev cosplay up … --gpu N` for a
 * real GPU (what Apply does), `gpudev plan … --host <model>` for a host model.
 */
export function planCommandLine(args: PlanArgs): string {
  const quote = (word: string) => (/^[\w.:@%+=,/-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  const strategy = args.strategy ? ['--strategy', args.strategy] : [];
  const gpu = args.gpu;
  const words = gpu
    ? [
        'gpudev',
        'cosplay',
        'up',
        args.target,
        ...(gpu.sshTarget ? ['--host', gpu.sshTarget] : []),
        '--gpu',
        args.gpuList && args.gpuList.length > 1 ? args.gpuList.join(',') : String(gpu.index),
        ...strategy,
        ...(gpu.sudo ? ['--sudo'] : []),
        ...(gpu.image ? ['--image', gpu.image] : []),
      ]
    : [
        'gpudev',
        'plan',
        args.target,
        '--host',
        args.host,
        ...(args.gpuCount && args.gpuCount !== 1 ? ['--num', String(args.gpuCount)] : []),
        ...strategy,
      ];
  return words.map(quote).join(' ');
}

/** What apply reads or makes only then, in words (the planner's `{…}` placeholders). */
const LATER_VALUES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\{mps-dir\}/g, "<the session's MPS folder>"],
  [/\{memoryClockAtMost\d+Percent\}/g, '<memory clock>'],
];

/** A planned command as the plan panel shows it: the GPU's index when known, words for values known only when applied. */
export function shownCommand(command: HostCommand, gpu: PlanGpu | undefined): string {
  const fill = (word: string) =>
    LATER_VALUES.reduce(
      (text, [placeholder, words]) => text.replace(placeholder, words),
      word.replace(/\{gpu\}/g, gpu ? String(gpu.index) : '<GPU>'),
    );
  return commandText({
    ...command,
    argv: command.argv.map(fill),
    ...(command.env && { env: Object.fromEntries(Object.entries(command.env).map(([k, v]) => [k, fill(v)])) }),
  });
}

/** The container's device in words, or its UUID when the GPU is known and no MIG device is made for it. */
export function shownDevice(device: string, gpu: PlanGpu | undefined): { text: string; known: boolean } {
  if (device === '{mig-uuid}') return { text: "the MIG device's UUID, read back after creation", known: false };
  if (device === '{gpu-uuid}')
    return gpu?.uuid ? { text: gpu.uuid, known: true } : { text: "the GPU's UUID", known: false };
  return { text: device, known: true };
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
