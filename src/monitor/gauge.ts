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

/** The GPU the gauge follows: the user's pick while its host is configured; else this machine's first GPU (in a Remote-SSH window the extension runs on the remote host, so that is the one); else the first SSH host's. */
export interface GaugeTarget {
  readonly host: string;
  /** A `gpuKey`; the host's first GPU when absent or gone. */
  readonly gpu?: string;
  readonly pinned: boolean;
}

export function gaugeTarget(hosts: ReadonlyArray<{ readonly name: string; readonly snapshot: ProbeResult | undefined }>, pin: { host: string; gpu: string } | undefined): GaugeTarget | undefined {
  if (pin && hosts.some((h) => h.name === pin.host)) return { ...pin, pinned: true };
  const [local, firstRemote] = hosts;
  if (local && (local.snapshot?.kind !== 'no-driver' || !firstRemote)) return { host: local.name, pinned: false };
  return firstRemote && { host: firstRemote.name, pinned: false };
}

/** The VRAM gauge for a probe, or null when it must be hidden (no GPU, no answer yet). */
export function gaugeView(result: ProbeResult | undefined, thresholds: GaugeThresholds, key?: string): GaugeView | null {
  if (result?.kind !== 'gpus' || result.gpus.length === 0) return null;
  const gpu: GpuSample = result.gpus.find((g) => gpuKey(g) === key) ?? result.gpus[0]!;
  const used = formatGiB(gpu.memoryUsedMiB);
  const total = formatGiB(gpu.memoryTotalMiB);
  const rows = result.gpus.map((g) => {
    const percent = memoryPercent(g);
    const fields = new Map(describeGpu(g));
    return `| ${g.index} | ${escapeMarkdown(g.name)} | ${formatGiB(g.memoryUsedMiB)}/${formatGiB(g.memoryTotalMiB)} GiB${percent === null ? '' : ` (${percent.toFixed(0)}%)`} | ${escapeMarkdown(fields.get('Utilization')!)} |`;
  });
  const where = result.host === LOCAL_HOST ? '' : ` on ${result.host}`;
  return {
    text: `$(chip) ${used}/${total} GiB${where ? ` · ${result.host}` : ''}`,
    level: gaugeLevel(memoryPercent(gpu), thresholds),
    tooltip: [`**${escapeMarkdown(result.host)}**: GPU ${gpu.index} shown`, '', '| GPU | Name | Memory | Util |', '|---|---|---|---|', ...rows, '', 'Click to choose the GPU shown here.'].join('\n'),
    accessibleLabel: `GPU ${gpu.index}${where} memory: ${used} of ${total} GiB used`,
  };
}
