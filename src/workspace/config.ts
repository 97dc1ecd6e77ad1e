// `.gpudev.yaml`: the workspace's reproducibility artifact. One zod schema; the JSON Schema for the YAML
// extension is generated from it (jsonSchema.ts), and the loader names every problem with its line.
import * as z from 'zod';

export const CONFIG_FILE = '.gpudev.yaml';
export const WORKLOADS = ['training', 'finetune', 'inference', 'interactive'] as const;
export const PRECISIONS = ['fp32', 'bf16', 'fp16', 'int8', 'int4'] as const;

/** A name that ends up in a command line or a label: letters, digits and `._-` only. */
const token = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits and . _ - only');
/** registry/name:tag@digest — no spaces, quotes, `$(...)` or backticks. */
const imageRef = z
  .string()
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/, 'an image reference (registry/name:tag), without spaces or shell syntax');
/** A Hugging Face id (org/name) or a local folder relative to the workspace. */
const modelName = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9._][A-Za-z0-9._/-]*$/, 'a Hugging Face id (org/name) or a relative folder');

export const GpudevConfigSchema = z
  .object({
    workload: z.enum(WORKLOADS).optional().describe('What runs: training, finetune, inference or interactive.'),
    model: z
      .union([
        modelName,
        z
          .object({
            name: modelName.optional(),
            params: z.number().positive().max(1e13).describe('Parameter count, e.g. 7e9.'),
          })
          .strict(),
      ])
      .optional()
      .describe('A Hugging Face id, a local folder with config.json, or {params: 7e9}.'),
    precision: z.enum(PRECISIONS).optional().describe('Bytes per weight: fp32 4, bf16/fp16 2, int8 1, int4 0.5.'),
    batch: z.number().int().positive().max(65536).optional().describe('Per-device batch size.'),
    sequence: z.number().int().positive().max(10_000_000).optional().describe('Sequence length in tokens.'),
    gpu: z
      .object({
        count: z.number().int().positive().max(1024).optional(),
        memoryGiB: z.number().positive().max(4096).optional().describe('Overrides the estimate.'),
        target: token.optional().describe('The catalog GPU to cosplay as (gpudev catalog).'),
        types: z.array(token).max(32).optional().describe('GRES types to reserve.'),
      })
      .strict()
      .optional(),
    image: imageRef.optional().describe('Container image for cosplay sessions and SkyPilot.'),
    setup: z.string().max(65536).optional().describe('Shell commands run once when the environment is created.'),
    run: z.string().max(65536).optional().describe('Shell commands that run the workload.'),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string().max(65536))
      .optional(),
    cluster: token.optional().describe('The Slurm cluster (gpudev.clusters) or SkyPilot infra.'),
    time: z
      .string()
      .regex(/^(\d+d)?(\d+h)?(\d+m)?$|^(\d+-)?\d+(:\d+){0,2}$/, 'a time: 30m, 2h, 1h30m, 1d or 1-00:00:00')
      .optional(),
    partition: token.optional(),
    sync: z
      .object({ exclude: z.array(z.string().max(1024)).max(1000).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type GpudevConfig = z.infer<typeof GpudevConfigSchema>;
export type Workload = (typeof WORKLOADS)[number];
export type Precision = (typeof PRECISIONS)[number];
