import { PRECISIONS, ratesFor, tflops, type Precision } from '../catalog/arch';
import type { GpuEntry } from '../catalog/schema';

export type Throughput = Readonly<Record<Precision, number | null>>;

/**
 * Dense TFLOPS per precision for `smCount` SMs of `entry`'s architecture. At datasheet clocks
 * (FP32 at boost, tensor math at the tensor-rated clock) unless a locked `clockMHz` is given,
 * which then applies to every precision — tensor math never above its rated clock (the H20's
 * capped tensor rate is catalogued as a low one). null: no such tensor path.
 */
export function predictThroughput(entry: GpuEntry, options: { smCount?: number; clockMHz?: number } = {}): Throughput {
  const rates = ratesFor(entry.arch, entry.tensorRate);
  if (!rates) throw new Error(`no per-SM rates for ${entry.arch}/${entry.tensorRate} (${entry.key})`);
  const smCount = options.smCount ?? entry.smCount;
  const tensorClock = entry.tensorClockMHz ?? entry.boostClockMHz;
  const clockFor = (precision: Precision) =>
    precision === 'fp32'
      ? (options.clockMHz ?? entry.boostClockMHz)
      : Math.min(options.clockMHz ?? tensorClock, tensorClock);
  return Object.fromEntries(
    PRECISIONS.map((precision) => {
      const rate = rates[precision];
      return [precision, rate === null ? null : tflops(smCount, clockFor(precision), rate)];
    }),
  ) as Record<Precision, number | null>;
}

/** The datasheet's figure for a precision, in the same shape as the model's. */
export function datasheetThroughput(entry: GpuEntry): Throughput {
  return {
    fp32: entry.fp32Tflops,
    fp16Fp32Acc: entry.fp16Fp32Acc,
    bf16Fp32Acc: entry.bf16Fp32Acc,
    tf32: entry.tf32,
    fp8: entry.fp8,
  };
}
