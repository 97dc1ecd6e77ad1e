import type { GpuEntry } from '../catalog/schema';
import type { Throughput } from './roofline';

/** What the cosplay will really deliver, before any disguise. */
export interface Delivered {
  readonly vramMiB: number;
  readonly smCount: number;
  readonly throughput: Throughput;
  readonly bandwidthGBs: number;
  readonly powerW: number;
}

export interface FidelityRow {
  readonly metric: string;
  readonly unit: string;
  readonly target: number | string | null;
  readonly predicted: number | string | null;
  /** predicted / target, null where either is missing or not a number. */
  readonly ratio: number | null;
  readonly verdict: string;
}

/** Within ±10% counts as a match. */
export const TOLERANCE = 0.1;

function ratioVerdict(ratio: number, name: string, whyFast: string, whySlow: string): string {
  if (Math.abs(ratio - 1) <= TOLERANCE) return 'matches';
  return ratio > 1
    ? `${name} ${ratio.toFixed(1)}x too fast: ${whyFast}`
    : `${name} ${Math.round((1 - ratio) * 100)}% too slow: ${whySlow}`;
}

function numeric(
  metric: string,
  unit: string,
  target: number | null,
  predicted: number | null,
  whyFast: string,
  whySlow: string,
  noTarget = '',
): FidelityRow {
  if (target === null && predicted === null)
    return { metric, unit, target, predicted, ratio: null, verdict: 'neither has it' };
  if (target === null) return { metric, unit, target, predicted, ratio: null, verdict: noTarget };
  if (predicted === null)
    return { metric, unit, target, predicted, ratio: null, verdict: `${metric}: the host has no such path` };
  const ratio = predicted / target;
  return { metric, unit, target, predicted, ratio, verdict: ratioVerdict(ratio, metric, whyFast, whySlow) };
}

const TENSOR_FAST = 'no setting can slow tensor cores separately from the FP32 units';
const TOO_SLOW = 'the host cannot go faster with this strategy';

function smRow(target: number, predicted: number): FidelityRow {
  const ratio = predicted / target;
  const verdict =
    Math.abs(ratio - 1) <= TOLERANCE
      ? 'matches'
      : `${predicted} SMs do the work of the target's ${target} (the shim reports ${target})`;
  return { metric: 'SMs', unit: 'SMs', target, predicted, ratio, verdict };
}

export function fidelityTable(target: GpuEntry, host: GpuEntry, delivered: Delivered): FidelityRow[] {
  const t = delivered.throughput;
  return [
    numeric('VRAM', 'MiB', target.vramMiB, delivered.vramMiB, 'memory cap not applied', 'host memory too small'),
    smRow(target.smCount, delivered.smCount),
    numeric(
      'FP32',
      'TFLOPS',
      target.fp32Tflops,
      t.fp32,
      'clock lock could not go lower',
      'host too slow, even at its maximum clock',
    ),
    numeric(
      'BF16 tensor',
      'TFLOPS',
      target.bf16Fp32Acc,
      t.bf16Fp32Acc,
      TENSOR_FAST,
      TOO_SLOW,
      'target has no BF16 tensor cores: torch.cuda.is_bf16_supported() is reported False, but BF16 kernels would still run',
    ),
    numeric(
      'FP16 tensor',
      'TFLOPS',
      target.fp16Fp32Acc,
      t.fp16Fp32Acc,
      TENSOR_FAST,
      TOO_SLOW,
      'target has no tensor cores: FP16 matmuls here run on tensor cores the target lacks',
    ),
    numeric(
      'TF32 tensor',
      'TFLOPS',
      target.tf32,
      t.tf32,
      TENSOR_FAST,
      TOO_SLOW,
      'target has no TF32: the shim turns TF32 off in torch',
    ),
    numeric(
      'Bandwidth',
      'GB/s',
      target.bandwidthGBs,
      delivered.bandwidthGBs,
      host.memoryType.startsWith('HBM')
        ? 'HBM memory clocks cannot be lowered; only MIG memory slices cut bandwidth'
        : 'memory clocks cannot be locked on this host (Ampere or newer only)',
      'host memory slower than the target',
    ),
    numeric(
      'Power',
      'W',
      target.tdpW,
      delivered.powerW,
      "power cap out of the host's range",
      "power cap below the target's TDP",
    ),
    {
      metric: 'Compute capability',
      unit: '',
      target: target.computeCapability,
      predicted: host.computeCapability,
      ratio: null,
      verdict:
        target.computeCapability === host.computeCapability
          ? 'matches'
          : `kernels run as sm_${host.computeCapability.replace('.', '')}, not sm_${target.computeCapability.replace('.', '')}: features of the host stay available (the shim reports ${target.computeCapability})`,
    },
  ];
}

const TENSOR = new Set(['bf16', 'fp16', 'tf32']);

/**
 * Why a measured ratio (measured / the target's datasheet) is outside the tolerance, and what would
 * bring it closer where something would; '' within the tolerance or unmeasured. `metric` is the
 * bench's (fp32, bf16, fp16, tf32, bandwidth), `strategy` the session's (mig, mps, memory).
 */
export function measuredNote(metric: string, ratio: number | null, strategy: string): string {
  if (ratio === null || Math.abs(ratio - 1) <= TOLERANCE) return '';
  const fast = ratio > 1;
  const mig = strategy === 'mig';
  const bigger = mig ? 'a bigger MIG profile' : 'a bigger MPS share of SMs';
  if (metric === 'fp32') {
    if (strategy === 'memory')
      return fast
        ? "a memory cap alone leaves compute at the host's full speed: a plan with MPS or MIG, which lock the clocks, comes closer"
        : "the host's FP32 units are slower than the target's, even at full clock: no setting brings it closer";
    return fast
      ? "the clock lock leaves the SMs faster than the target's: Calibrate bisects the clock lock until FP32 matches"
      : `the SMs at the locked clock do less than the target's: Calibrate raises the clock lock; at the host's maximum clock, ${bigger} comes closer`;
  }
  if (TENSOR.has(metric))
    return fast
      ? "tensor cores of a newer architecture: the clock cap that brings FP32 to the target cannot slow them enough, and nothing slows tensor cores alone; only a host of the target's architecture comes closer"
      : `this host's tensor cores do less than the target's at this clock and SM share: ${bigger} or a higher clock lock comes closer (FP32 then runs faster too)`;
  if (metric !== 'bandwidth') return '';
  if (!fast)
    return mig
      ? "this MIG profile's share of the host's memory is slower than the target's memory: a MIG profile with more memory slices comes closer"
      : "the host's memory is slower than the target's: no setting brings it closer";
  return mig
    ? "HBM bandwidth that a memory cap does not reduce (it limits how much memory there is, not how fast it is read) and whose clocks cannot be lowered: a MIG profile with fewer memory slices comes closer, where the target's VRAM still fits"
    : "the host's whole memory bandwidth, which a memory cap does not reduce (it limits how much memory there is, not how fast it is read), and HBM clocks cannot be lowered: a MIG plan, whose memory slices share out the bandwidth, comes closer";
}

/** What a report row carries for its notes. */
export interface RatioRow {
  readonly metric: string;
  /** measured / the target's datasheet */
  readonly ratio: number | null;
  /** measured / the target's achievable rate (datasheet × the host's efficiency) */
  readonly achievableRatio?: number | null;
  readonly efficiency?: number | null;
  /** Why there is no achievable rate. */
  readonly achievableNote?: string;
}

const isOff = (ratio: number | null | undefined): ratio is number =>
  ratio !== null && ratio !== undefined && Math.abs(ratio - 1) > TOLERANCE;
const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;

/**
 * A note on every ratio outside the tolerance: against the datasheet, why (the efficiency every GPU
 * has, or what the cosplay does), and against the achievable rate, what would bring it closer; ''
 * where both are within it.
 */
export function fidelityNote(row: RatioRow, strategy: string): string {
  const achievable = row.achievableRatio ?? null;
  if (achievable === null) {
    const note = measuredNote(row.metric, row.ratio, strategy);
    return note && row.achievableNote ? `${note} (no achievable rate to compare with: ${row.achievableNote})` : note;
  }
  const efficiency = row.efficiency ?? null;
  const notes: string[] = [];
  if (isOff(row.ratio) && efficiency !== null)
    notes.push(
      row.ratio < 1
        ? `${percent(row.ratio)} of the datasheet: no GPU reaches its datasheet; this host reaches ${percent(efficiency)} of its own peak un-throttled, so the target's achievable rate is ${percent(efficiency)} of its datasheet`
        : `${percent(row.ratio)} of the datasheet (this host reaches ${percent(efficiency)} of its own peak un-throttled)`,
    );
  if (isOff(achievable))
    notes.push(`${percent(achievable)} of achievable: ${measuredNote(row.metric, achievable, strategy)}`);
  return notes.join('; ');
}
