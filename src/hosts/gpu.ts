/** One GPU as sampled by the monitor. Every measured value is null when the driver does not report it. */
export interface GpuSample {
  readonly index: number;
  readonly uuid: string | null;
  readonly name: string;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly utilizationPct: number | null;
  readonly temperatureC: number | null;
  readonly powerDrawW: number | null;
  readonly powerLimitW: number | null;
  /** "Enabled", "Disabled", or null where the GPU has no MIG. */
  readonly migMode: string | null;
  readonly busId?: string | null;
  /** Compute processes, when they were asked for. */
  readonly processes?: readonly GpuProcess[];
}

export interface GpuProcess {
  readonly pid: number;
  readonly name: string;
  readonly usedMemoryMiB: number | null;
}

const MIB_PER_GIB = 1024;

export function formatGiB(mib: number | null): string {
  return mib === null ? '?' : (mib / MIB_PER_GIB).toFixed(1);
}

export function memoryPercent(gpu: GpuSample): number | null {
  if (gpu.memoryUsedMiB === null || !gpu.memoryTotalMiB) return null;
  return (100 * gpu.memoryUsedMiB) / gpu.memoryTotalMiB;
}

/** Every field as [label, human value], in a stable order: for tooltips, details and the CLI. */
export function describeGpu(gpu: GpuSample): Array<[string, string]> {
  const unit = (value: number | null, suffix: string) => (value === null ? 'n/a' : `${value}${suffix}`);
  return [
    ['Index', String(gpu.index)],
    ['Name', gpu.name],
    ['UUID', gpu.uuid ?? 'n/a'],
    [
      'Memory used',
      gpu.memoryUsedMiB === null ? 'n/a' : `${formatGiB(gpu.memoryUsedMiB)} GiB (${gpu.memoryUsedMiB} MiB)`,
    ],
    [
      'Memory total',
      gpu.memoryTotalMiB === null ? 'n/a' : `${formatGiB(gpu.memoryTotalMiB)} GiB (${gpu.memoryTotalMiB} MiB)`,
    ],
    ['Utilization', unit(gpu.utilizationPct, ' %')],
    ['Temperature', unit(gpu.temperatureC, ' °C')],
    ['Power draw', unit(gpu.powerDrawW, ' W')],
    ['Power limit', unit(gpu.powerLimitW, ' W')],
    ['MIG mode', gpu.migMode ?? 'n/a'],
  ];
}

/** "NVIDIA H100 80GB HBM3" → "H100 80GB HBM3": the vendor says nothing in a list of NVIDIA GPUs. */
export function shortGpuName(name: string): string {
  return name.replace(/^NVIDIA\s+(?=\S)/, '');
}

/** "2.0/79.6 GiB · 0%": the short form used in the tree and the CLI. */
export function summarizeGpu(gpu: GpuSample): string {
  const memory = `${formatGiB(gpu.memoryUsedMiB)}/${formatGiB(gpu.memoryTotalMiB)} GiB`;
  return gpu.utilizationPct === null ? memory : `${memory} · ${gpu.utilizationPct}%`;
}
