/** Architectures by the throughput of one SM, which is what the roofline model needs. */
export const ARCHS = [
  'volta',
  'turing',
  'ampere-ga100',
  'ampere',
  'ada',
  'hopper',
  'blackwell',
  'blackwell-gb100',
] as const;
export type Arch = (typeof ARCHS)[number];

/**
 * Tensor rate with FP32 accumulation: GeForce parts (and the L40, A10G) run FP16/BF16 (and FP8)
 * tensor math at half the FP16-accumulate rate; other professional and data-centre parts of the
 * same die run it at full rate; GTX 16 parts have no tensor cores at all.
 */
export const TENSOR_RATES = ['half', 'full', 'none'] as const;
export type TensorRate = (typeof TENSOR_RATES)[number];

export const PRECISIONS = ['fp32', 'fp16Fp32Acc', 'bf16Fp32Acc', 'tf32', 'fp8'] as const;
export type Precision = (typeof PRECISIONS)[number];

type Rates = Readonly<Record<Precision, number | null>>;

/**
 * Dense FLOP per clock per SM (an FMA counts 2), FP32 accumulation for tensor math, FP8 with
 * FP32 accumulation. null: the precision has no tensor path on that arch and tensor rate.
 * Source: the shared reference's roofline table, checked against every catalog entry by a unit test.
 */
const RATES: Readonly<Record<Arch, Partial<Record<TensorRate, Rates>>>> = {
  volta: { full: { fp32: 128, fp16Fp32Acc: 1024, bf16Fp32Acc: null, tf32: null, fp8: null } },
  turing: {
    half: { fp32: 128, fp16Fp32Acc: 512, bf16Fp32Acc: null, tf32: null, fp8: null },
    full: { fp32: 128, fp16Fp32Acc: 1024, bf16Fp32Acc: null, tf32: null, fp8: null },
    none: { fp32: 128, fp16Fp32Acc: null, bf16Fp32Acc: null, tf32: null, fp8: null },
  },
  'ampere-ga100': { full: { fp32: 128, fp16Fp32Acc: 2048, bf16Fp32Acc: 2048, tf32: 1024, fp8: null } },
  ampere: {
    half: { fp32: 256, fp16Fp32Acc: 512, bf16Fp32Acc: 512, tf32: 256, fp8: null },
    full: { fp32: 256, fp16Fp32Acc: 1024, bf16Fp32Acc: 1024, tf32: 512, fp8: null },
  },
  ada: {
    half: { fp32: 256, fp16Fp32Acc: 512, bf16Fp32Acc: 512, tf32: 256, fp8: 1024 },
    full: { fp32: 256, fp16Fp32Acc: 1024, bf16Fp32Acc: 1024, tf32: 512, fp8: 2048 },
  },
  hopper: { full: { fp32: 256, fp16Fp32Acc: 4096, bf16Fp32Acc: 4096, tf32: 2048, fp8: 8192 } },
  // GB20x (sm_120): GeForce at half rate, RTX PRO Blackwell at full rate (RTX PRO Blackwell datasheets).
  blackwell: {
    half: { fp32: 256, fp16Fp32Acc: 512, bf16Fp32Acc: 512, tf32: 256, fp8: 1024 },
    full: { fp32: 256, fp16Fp32Acc: 1024, bf16Fp32Acc: 1024, tf32: 512, fp8: 2048 },
  },
  // GB100/GB110 (sm_100 B200/GB200, sm_103 B300/GB300): the same dense rates per SM up to FP8.
  'blackwell-gb100': { full: { fp32: 256, fp16Fp32Acc: 8192, bf16Fp32Acc: 8192, tf32: 4096, fp8: 16384 } },
};

export function ratesFor(arch: Arch, tensorRate: TensorRate): Rates | undefined {
  return RATES[arch][tensorRate];
}

/** TFLOPS = SMs × clock × FLOP/clk/SM. */
export function tflops(smCount: number, clockMHz: number, flopPerClockPerSm: number): number {
  return (smCount * clockMHz * flopPerClockPerSm) / 1e6;
}
