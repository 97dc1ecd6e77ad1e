import { describeGpu, formatGiB, memoryPercent, type GpuSample } from '../hosts/gpu';
import type { ProbeResult } from '../hosts/gpuProbe';
import { LOCAL_HOST } from '../hosts/runner';

export interface GaugeThresholds {
  readonly warnPercent: number;
  readonly errorPercent: number;
}

export type GaugeLevel = 'normal' | 'warning' | 'error';

export interface GaugeView {
  readonly text: string;
  readonly level: GaugeLevel;
  /** Markdown: one row per GPU. */
  readonly tooltip: string;
  readonly accessibleLabel: string;
}

export function gaugeLevel(percent: number | null, thresholds: GaugeThresholds): GaugeLevel {
  if (percent === null) return 'normal';
  if (percent >= thresholds.errorPercent) return 'error';
  return percent >= thresholds.warnPercent ? 'warning' : 'normal';
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

/** A GPU's identity across samples: its UUID, else its index. */
export function gpuKey(gpu: GpuSample): string {
  return gpu.uuid ?? `#${gpu.index}`;
}

/** The GPU the gauge follows: the user's pick while its host is configured; else the GPU of a running cosplay session; else this machine's first GPU (in a Remote-SSH window the extension runs on the remote host, so that is the one); else the first SSH host's. */
export interface GaugeTarget {
  readonly host: string;
  /** A `gpuKey`; the host's first GPU when absent or gone. */
  readonly gpu?: string;
  readonly pinned: boolean;
}

/** `followed`: the host of the reservation this Remote-SSH window is on (after a pick and a cosplay session). */
export function gaugeTarget(
  hosts: ReadonlyArray<{ readonly name: string; readonly snapshot: ProbeResult | undefined }>,
  pin: { host: string; gpu: string } | undefined,
  cosplayed?: { host: string; gpu: string },
  followed?: string,
): GaugeTarget | undefined {
  if (pin && hosts.some((h) => h.name === pin.host)) return { ...pin, pinned: true };
  if (cosplayed && hosts.some((h) => h.name === cosplayed.host)) return { ...cosplayed, pinned: false };
  if (followed && hosts.some((h) => h.name === followed)) return { host: followed, pinned: false };
  const [local, firstRemote] = hosts;
  if (local && (local.snapshot?.kind !== 'no-driver' || !firstRemote)) return { host: local.name, pinned: false };
  return firstRemote && { host: firstRemote.name, pinned: false };
}

/** A cosplay session's memory budget on a GPU: the target's VRAM, which the gauge then measures against. */
export interface VramBudget {
  readonly target: string;
  readonly vramMiB: number;
}

/** The VRAM gauge for a probe, or null when it must be hidden (no GPU, no answer yet). */
export function gaugeView(
  result: ProbeResult | undefined,
  thresholds: GaugeThresholds,
  key?: string,
  budgetOf?: (gpu: GpuSample) => VramBudget | undefined,
  /** A Markdown line under the tooltip's title (which reservation this window is on). */
  note?: string,
): GaugeView | null {
  if (result?.kind !== 'gpus' || result.gpus.length === 0) return null;
  const picked: GpuSample = result.gpus.find((g) => gpuKey(g) === key) ?? result.gpus[0]!;
  const budget = budgetOf?.(picked);
  const gpu = budget ? { ...picked, memoryTotalMiB: budget.vramMiB } : picked;
  const used = formatGiB(gpu.memoryUsedMiB);
  const total = formatGiB(gpu.memoryTotalMiB);
  const rows = result.gpus.map((g) => {
    const percent = memoryPercent(g);
    const fields = new Map(describeGpu(g));
    return `| ${g.index} | ${escapeMarkdown(g.name)} | ${formatGiB(g.memoryUsedMiB)}/${formatGiB(g.memoryTotalMiB)} GiB${percent === null ? '' : ` (${percent.toFixed(0)}%)`} | ${escapeMarkdown(fields.get('Utilization')!)} |`;
  });
  const where = result.host === LOCAL_HOST ? '' : ` on ${result.host}`;
  // Which GPU, once the host has several: "GPU 5 · lab" (the vendor's name is in the tooltip).
  const which = result.gpus.length > 1 ? `GPU ${gpu.index}` : '';
  const suffix = [budget?.target, which, where && result.host].filter(Boolean).join(' · ');
  const cosplay = budget
    ? [
        `Cosplaying **${escapeMarkdown(budget.target)}**: used against its ${total} GiB, not the host's ${formatGiB(picked.memoryTotalMiB)} GiB`,
        '',
      ]
    : [];
  return {
    text: `$(chip) ${used}/${total} GiB${suffix ? ` · ${suffix}` : ''}`,
    level: gaugeLevel(memoryPercent(gpu), thresholds),
    tooltip: [
      `**${escapeMarkdown(result.host)}**: GPU ${gpu.index} shown`,
      '',
      ...(note ? [note, ''] : []),
      ...cosplay,
      '| GPU | Name | Memory | Util |',
      '|---|---|---|---|',
      ...rows,
      '',
      'Click to choose the GPU shown here.',
    ].join('\n'),
    accessibleLabel: `GPU ${gpu.index}${where} memory: ${used} of ${total} GiB used${budget ? ` (the ${budget.target} budget)` : ''}`,
  };
}
