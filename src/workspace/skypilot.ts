// The workspace as a SkyPilot task (current syntax: `infra:`, `resources.accelerators`, `image_id: docker:`).
// Checked in the tests against SkyPilot's own task and resources JSON schemas.
import { stringify } from 'yaml';
import type { GpudevConfig } from './config';

/** Catalog key → SkyPilot accelerator name (`sky show-gpus`), for the GPUs clouds rent. */
const SKYPILOT_NAMES: Record<string, string> = {
  t4: 'T4',
  l4: 'L4',
  a10g: 'A10G',
  a10: 'A10',
  a40: 'A40',
  l40: 'L40',
  l40s: 'L40S',
  'v100-sxm2-16gb': 'V100',
  'v100-sxm2-32gb': 'V100-32GB',
  'a100-sxm4-40gb': 'A100',
  'a100-pcie-40gb': 'A100',
  'a100-sxm4-80gb': 'A100-80GB',
  'a100-pcie-80gb': 'A100-80GB',
  'h100-sxm': 'H100',
  'h100-pcie': 'H100',
  h200: 'H200',
  b200: 'B200',
  rtx3090: 'RTX3090',
  rtx4090: 'RTX4090',
  rtxa6000: 'RTXA6000',
  rtx6000ada: 'RTX6000-Ada',
};

/** The `infra:` clouds SkyPilot accepts (its resources schema); `cluster:` naming one of these becomes infra. */
const CLOUDS = new Set([
  'aws',
  'azure',
  'gcp',
  'ibm',
  'lambda',
  'oci',
  'runpod',
  'vast',
  'nebius',
  'kubernetes',
  'k8s',
  'slurm',
]);
const GPUS_PER_NODE = 8;

export interface SkyPilotInput {
  readonly name: string;
  /** Catalog keys it fits, slowest first. */
  readonly fits: readonly string[];
  readonly gpuCount: number;
  readonly config?: GpudevConfig;
  readonly image?: string;
  /** What the workspace root suggests where `.gpudev.yaml` says nothing. */
  readonly entry?: { readonly setup?: string; readonly run?: string };
}

export type SkyPilotTask = Record<string, unknown>;

export function skyPilotTask(input: SkyPilotInput): SkyPilotTask | { error: string } {
  const perNode = Math.min(input.gpuCount, GPUS_PER_NODE);
  const numNodes = Math.ceil(input.gpuCount / GPUS_PER_NODE);
  const candidates = [...new Set(input.fits.map((key) => SKYPILOT_NAMES[key]).filter((n) => n !== undefined))].slice(
    0,
    3,
  );
  if (!candidates.length)
    return { error: 'no GPU that SkyPilot rents fits the estimate: set gpu.memoryGiB or gpu.count in .gpudev.yaml' };
  const config = input.config;
  const image = config?.image ?? input.image;
  const cluster = config?.cluster?.toLowerCase();
  const resources: Record<string, unknown> = {
    accelerators: Object.fromEntries(candidates.map((name) => [name, perNode])),
    ...(image ? { image_id: `docker:${image}` } : {}),
    ...(cluster && CLOUDS.has(cluster) ? { infra: cluster } : {}),
  };
  return {
    name: taskName(input.name),
    workdir: '.',
    ...(numNodes > 1 ? { num_nodes: numNodes } : {}),
    resources,
    ...(config?.env && Object.keys(config.env).length ? { envs: config.env } : {}),
    ...((config?.setup ?? input.entry?.setup) ? { setup: config?.setup ?? input.entry?.setup } : {}),
    run: config?.run ?? input.entry?.run ?? 'echo "set run: in .gpudev.yaml"',
  };
}

/** SkyPilot task names: letters, digits, `-`, `_`, `.`, starting with a letter. */
function taskName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z]+/, '');
  return cleaned || 'gpudev-task';
}

export function skyPilotYaml(task: SkyPilotTask): string {
  // YAML 1.1 as SkyPilot reads it (PyYAML): ambiguous scalars such as `.` or `on` come out quoted.
  return stringify(task, { lineWidth: 0, version: '1.1' });
}
