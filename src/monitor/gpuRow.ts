import { formatGiB, shortGpuName, type GpuSample } from '../hosts/gpu';

/**
 * A GPU's row in the GPUs view, what matters first, since a narrow side bar cuts the end off:
 * label "GPU 0 · 37 % · 11.5/79.6 GiB", the model (and MIG mode when on) in the description; the
 * tooltip has every field.
 */
export function gpuRow(gpu: GpuSample): { readonly label: string; readonly description: string } {
  const label = [
    `GPU ${gpu.index}`,
    ...(gpu.utilizationPct === null ? [] : [`${gpu.utilizationPct} %`]),
    `${formatGiB(gpu.memoryUsedMiB)}/${formatGiB(gpu.memoryTotalMiB)} GiB`,
  ].join(' · ');
  const description = [shortGpuName(gpu.name), ...(gpu.migMode === 'Enabled' ? ['MIG'] : [])].join(' · ');
  return { label, description };
}
