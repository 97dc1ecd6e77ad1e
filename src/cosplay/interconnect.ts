// The link between two GPUs of a multi-GPU cosplay: what a pair of the target would have (PCIe, or an
// NVLink bridge where the board has one) against what the host's GPUs give the session (their NVLink,
// or none at all in MIG mode). Figures from ../shared/reference/gpu-specs.md §1a (host bus / GPU link).
import type { GpuEntry } from '../catalog/schema';
import { TOLERANCE, type FidelityRow } from './fidelity';

/** NVIDIA MIG user guide, deployment considerations (application considerations, limitations). */
export const MIG_GUIDE = 'https://docs.nvidia.com/datacenter/tesla/mig-user-guide/deployment-considerations.html';

interface Link {
  readonly text: string;
  /** GB/s, as the source states it (NVLink: all links, both directions). */
  readonly nvlinkGBs: number | null;
}

/** Boards with a GPU-to-GPU link, by catalog key; every other board talks over PCIe only. */
const NVLINK: Readonly<Record<string, Link>> = {
  rtx2080ti: { text: 'NVLink bridge (2-way)', nvlinkGBs: null },
  rtx3090: { text: 'NVLink bridge', nvlinkGBs: null },
  rtxa6000: { text: 'NVLink bridge 112.5 GB/s', nvlinkGBs: 112.5 },
  a40: { text: 'NVLink bridge 112.5 GB/s', nvlinkGBs: 112.5 },
  'v100-sxm2-16gb': { text: 'NVLink2 300 GB/s', nvlinkGBs: 300 },
  'v100-sxm2-32gb': { text: 'NVLink2 300 GB/s', nvlinkGBs: 300 },
  'a100-sxm4-40gb': { text: 'NVLink3 600 GB/s', nvlinkGBs: 600 },
  'a100-sxm4-80gb': { text: 'NVLink3 600 GB/s', nvlinkGBs: 600 },
  'a100-pcie-40gb': { text: 'NVLink bridge 600 GB/s', nvlinkGBs: 600 },
  'a100-pcie-80gb': { text: 'NVLink bridge 600 GB/s', nvlinkGBs: 600 },
  'h100-sxm': { text: 'NVLink4 900 GB/s', nvlinkGBs: 900 },
  'h100-pcie': { text: 'NVLink bridge 600 GB/s', nvlinkGBs: 600 },
  'h100-nvl': { text: 'NVLink bridge 600 GB/s', nvlinkGBs: 600 },
  h200: { text: 'NVLink4 900 GB/s', nvlinkGBs: 900 },
  b200: { text: 'NVLink5 1.8 TB/s', nvlinkGBs: 1800 },
};

/** PCIe generation of the board's host bus, by architecture (x16 on every catalog board). */
const PCIE_GEN: Readonly<Record<string, string>> = {
  volta: '3.0',
  turing: '3.0',
  ampere: '4.0',
  ada: '4.0',
  hopper: '5.0',
  blackwell: '5.0',
};

function pcie(gpu: GpuEntry): string {
  const gen = PCIE_GEN[gpu.arch];
  return gen ? `PCIe ${gen} x16` : 'PCIe';
}

/** What two of this board have between them, in words. */
export function pairLink(gpu: GpuEntry): string {
  const link = NVLINK[gpu.key];
  return link ? `${link.text}; ${pcie(gpu)}` : `${pcie(gpu)}, no NVLink`;
}

/**
 * The fidelity table's interconnect row. `mig`: the session's devices are MIG instances, which have
 * no peer-to-peer path at all (PCIe or NVLink), so NCCL goes through host memory.
 */
export function interconnectRow(target: GpuEntry, host: GpuEntry, mig: boolean): FidelityRow {
  const targetLink = pairLink(target);
  const row = { metric: 'Interconnect', unit: '', target: targetLink, ratio: null };
  if (mig)
    return {
      ...row,
      predicted: 'none (MIG instances)',
      verdict: `no P2P between MIG instances, over PCIe or NVLink (NVIDIA MIG user guide, ${MIG_GUIDE}): NCCL and P2P copies go through host memory, slower than a ${target.name} pair's ${targetLink}`,
    };
  const hostLink = NVLINK[host.key];
  const targetNvlink = NVLINK[target.key];
  if (!hostLink)
    return {
      ...row,
      predicted: pairLink(host),
      verdict: targetNvlink
        ? `the host's GPUs have no NVLink: collectives are slower than on a bridged ${target.name} pair`
        : 'both talk over PCIe: collectives close to a real pair',
    };
  const ratio =
    targetNvlink?.nvlinkGBs != null && hostLink.nvlinkGBs != null ? hostLink.nvlinkGBs / targetNvlink.nvlinkGBs : null;
  const verdict =
    ratio !== null && Math.abs(ratio - 1) <= TOLERANCE
      ? 'matches'
      : ratio !== null && ratio < 1
        ? `the host's ${hostLink.text} is slower than a ${target.name} pair's ${targetNvlink!.text}`
        : `the host's ${hostLink.text} is faster than a ${target.name} pair's ${targetNvlink ? targetNvlink.text : pcie(target)}: all-reduce and peer copies run faster than on the target`;
  return { ...row, predicted: pairLink(host), ratio, verdict };
}
