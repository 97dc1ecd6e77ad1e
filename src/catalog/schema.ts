import * as z from 'zod';
import { ARCHS, TENSOR_RATES } from './arch';

const tflops = z.number().positive().nullable();
const positive = z.number().positive();

/** The plain profiles and their media/graphics variants (`+me`, `+me.all`, `-me`, `+gfx` on RTX PRO Blackwell). */
export const MIG_PROFILE_NAME = /^\d+g\.\d+gb(\+me|\+me\.all|-me|\+gfx)?$/;

export const MigProfileSchema = z
  .object({
    name: z.string().regex(MIG_PROFILE_NAME),
    id: z.number().int().min(0),
    smCount: z.number().int().positive(),
    memoryMiB: z.number().int().positive(),
    /** Its size in the GPU's memory-slice grid (`-lgipp` `:size`; 8 slices on A100–B200, 12 on RTX PRO 6000). */
    memorySlices: z.number().int().min(1).max(16),
    computeSlices: z.number().int().min(1).max(7),
    maxInstances: z.number().int().min(1).max(7),
    /** Where it may start (`-lgipp` `{…}`); absent: the A100–B200 placements of its id (migPlacement.ts). */
    starts: z.array(z.number().int().min(0)).min(1).optional(),
  })
  .strict();

/** How a GPU's MIG slices are cut: absent on the A100–B200 layout (8 memory, 7 compute slices). */
export const MigLayoutSchema = z
  .object({ memorySlices: z.number().int().min(1).max(16), computeSlices: z.number().int().min(1).max(7) })
  .strict();

export const HostSchema = z
  .object({
    migProfiles: z.array(MigProfileSchema).default([]),
    migLayout: MigLayoutSchema.optional(),
    /** `nvidia-smi -pl` range; null where no source gives it. */
    powerLimitW: z.object({ min: positive, max: positive }).strict().nullable(),
    /** Graphics clocks `nvidia-smi -lgc` accepts (SUPPORTED_CLOCKS); null where no source gives them. */
    clockRangeMHz: z.object({ min: positive, max: positive }).strict().nullable().default(null),
  })
  .strict();

export const GpuEntrySchema = z
  .object({
    key: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    /** Exactly as NVML (nvidia-smi) prints it on current drivers. */
    name: z.string().min(1),
    aliases: z.array(z.string().min(1)).default([]),
    family: z.string().min(1),
    arch: z.enum(ARCHS),
    tensorRate: z.enum(TENSOR_RATES),
    computeCapability: z.string().regex(/^\d+\.\d+$/),
    smCount: z.number().int().positive(),
    /** memory.total as nvidia-smi reports it on a real card where one was captured, else the nominal size. */
    vramMiB: z.number().int().positive(),
    memoryType: z.string().min(1),
    bandwidthGBs: positive,
    baseClockMHz: positive.nullable(),
    boostClockMHz: positive,
    /** The clock behind the tensor datasheet rates where NVIDIA rates them below boost (Hopper, B200). */
    tensorClockMHz: positive.optional(),
    fp32Tflops: positive,
    fp16Fp32Acc: tflops,
    bf16Fp32Acc: tflops,
    tf32: tflops,
    fp8: tflops,
    tdpW: positive,
    /** ECC memory: what the disguise shows in ECC cells and `-q` (GeForce parts have none). */
    hasEcc: z.boolean(),
    l2MiB: positive.nullable(),
    sources: z.array(z.string().url()).min(1),
    /** Fields the reference marks as not re-checked against their source. */
    unverified: z.array(z.string()).default([]),
    host: HostSchema.optional(),
  })
  .strict();

export const CatalogSchema = z.object({ gpus: z.array(GpuEntrySchema).min(1) }).strict();

export type MigProfile = z.infer<typeof MigProfileSchema>;
export type MigLayout = z.infer<typeof MigLayoutSchema>;
export type GpuEntry = z.infer<typeof GpuEntrySchema>;
