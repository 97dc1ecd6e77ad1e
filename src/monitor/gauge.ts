import { describeGpu, formatGiB, memoryPercent, type GpuSample } from '../hosts/gpu';
import type { ProbeResult } from '../hosts/gpuProbe';

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

/** The VRAM gauge for a probe, or null when it must be hidden (no GPU, no answer yet). */
export function gaugeView(result: ProbeResult | undefined, thresholds: GaugeThresholds): GaugeView | null {
  if (result?.kind !== 'gpus' || result.gpus.length === 0) return null;
  const gpu: GpuSample = result.gpus[0]!;
  const used = formatGiB(gpu.memoryUsedMiB);
  const total = formatGiB(gpu.memoryTotalMiB);
  const rows = result.gpus.map((g) => {
    const percent = memoryPercent(g);
    const fields = new Map(describeGpu(g));
    return `| ${g.index} | ${escapeMarkdown(g.name)} | ${formatGiB(g.memoryUsedMiB)}/${formatGiB(g.memoryTotalMiB)} GiB${percent === null ? '' : ` (${percent.toFixed(0)}%)`} | ${escapeMarkdown(fields.get('Utilization')!)} |`;
  });
  return {
    text: `$(chip) ${used}/${total} GiB`,
    level: gaugeLevel(memoryPercent(gpu), thresholds),
    tooltip: [`**${escapeMarkdown(result.host)}**: GPU ${gpu.index} shown`, '', '| GPU | Name | Memory | Util |', '|---|---|---|---|', ...rows, '', 'Click to show the GPUs view.'].join('\n'),
    accessibleLabel: `GPU ${gpu.index} memory: ${used} of ${total} GiB used`,
  };
}
