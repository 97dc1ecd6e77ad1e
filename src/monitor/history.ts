import type { ProbeResult } from '../hosts/gpuProbe';
import { gpuKey } from './gauge';

/** How far back the GPU details chart reaches. */
export const HISTORY_MS = 10 * 60_000;

/** One GPU's samples, oldest first, as columns (what a chart takes). */
export interface GpuSeries {
  readonly at: number[];
  readonly utilizationPct: Array<number | null>;
  readonly memoryUsedMiB: Array<number | null>;
  memoryTotalMiB: number | null;
}

/** The samples of the last ten minutes of every GPU of every host, whatever the monitors read. */
export class SampleHistory {
  private readonly byGpu = new Map<string, GpuSeries>();

  constructor(private readonly windowMs = HISTORY_MS) {}

  record(result: ProbeResult): void {
    if (result.kind !== 'gpus') return;
    for (const gpu of result.gpus) {
      const key = `${result.host}\n${gpuKey(gpu)}`;
      let series = this.byGpu.get(key);
      if (!series)
        this.byGpu.set(key, (series = { at: [], utilizationPct: [], memoryUsedMiB: [], memoryTotalMiB: null }));
      if (series.at.length && result.at <= series.at[series.at.length - 1]!) continue; // a probe that overtook a stream sample
      series.at.push(result.at);
      series.utilizationPct.push(gpu.utilizationPct);
      series.memoryUsedMiB.push(gpu.memoryUsedMiB);
      series.memoryTotalMiB = gpu.memoryTotalMiB ?? series.memoryTotalMiB;
      const old = series.at.findIndex((at) => at >= result.at - this.windowMs);
      if (old > 0) for (const column of [series.at, series.utilizationPct, series.memoryUsedMiB]) column.splice(0, old);
    }
  }

  of(host: string, key: string): GpuSeries | undefined {
    return this.byGpu.get(`${host}\n${key}`);
  }

  /** Drops the history of hosts no longer configured. */
  keepHosts(hosts: readonly string[]): void {
    for (const key of this.byGpu.keys()) if (!hosts.includes(key.split('\n')[0]!)) this.byGpu.delete(key);
  }
}
