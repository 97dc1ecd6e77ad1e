// What a cosplay session takes from `.gpudev.yaml`: its image, its environment and its setup commands.
// The variables that make the disguise (and PATH/PYTHONPATH, which carry the shim) stay the plan's.
import type { GpudevConfig } from './config';

const THE_PLANS = /^(GPUDEV_\w*|CUDA_MPS_\w*|CUDA_VISIBLE_DEVICES|NVIDIA_VISIBLE_DEVICES|PATH|PYTHONPATH)$/;

export interface SessionDefaults {
  readonly image?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly setup?: string;
  /** Variables of `env` left out because the plan sets them. */
  readonly ignored: readonly string[];
}

export function sessionDefaults(config: GpudevConfig): SessionDefaults {
  const entries = Object.entries(config.env ?? {});
  const ignored = entries.filter(([name]) => THE_PLANS.test(name)).map(([name]) => name);
  return {
    ...(config.image && { image: config.image }),
    env: Object.fromEntries(entries.filter(([name]) => !THE_PLANS.test(name))),
    ...(config.setup?.trim() && { setup: config.setup }),
    ignored,
  };
}
