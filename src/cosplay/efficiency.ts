// The host's own efficiency: what bench.py measures un-throttled (clock lock and power cap lifted)
// divided by the host's modelled peak for the share of the GPU the session has. Measured once per
// (host GPU model, driver, torch) and kept on this machine in ~/.cache/gpudev/efficiency.json: the
// key's three parts decide it (../shared/reference/gpu-specs.md §7), a user's own measurement cannot
// be altered by other users of a shared host, and no write access on the host is needed.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as z from 'zod/mini';
import { builtinCatalog } from '../catalog/catalog';
import type { GpuEntry } from '../catalog/schema';
import type { BenchOutput } from './benchReport';
import { TOLERANCE } from './fidelity';
import type { SessionPlan } from './session';

/** The metrics whose efficiency is measured (all-reduce has no modelled peak). */
export const EFFICIENCY_METRICS = ['fp32', 'tf32', 'fp16', 'bf16', 'bandwidth'] as const;
const COMPUTE = new Set(['fp32', 'tf32', 'fp16', 'bf16']);

const EfficiencyRecordSchema = z.strictObject({
  hostModel: z.string(),
  driver: z.string(),
  torch: z.string(),
  cuda: z.nullable(z.string()),
  at: z.string(),
  /** The session and strategy it was measured in (a MIG slice or an MPS share of the GPU). */
  session: z.string(),
  strategy: z.string(),
  /** measured / peak per metric. */
  efficiency: z.record(z.string(), z.number()),
  measured: z.record(z.string(), z.number()),
  peak: z.record(z.string(), z.number()),
});
export type EfficiencyRecord = z.infer<typeof EfficiencyRecordSchema>;
const EfficiencyFileSchema = z.strictObject({ version: z.literal(1), records: z.array(EfficiencyRecordSchema) });

export interface Versions {
  readonly torch?: string | null;
  readonly cuda?: string | null;
  readonly driver?: string | null;
}

export interface EfficiencyStore {
  find(hostModel: string, versions: Versions): Promise<EfficiencyRecord | undefined>;
  save(record: EfficiencyRecord): Promise<void>;
}

const sameKey = (record: EfficiencyRecord, hostModel: string, versions: Versions) =>
  record.hostModel === hostModel && record.driver === versions.driver && record.torch === versions.torch;

export function findEfficiency(
  records: readonly EfficiencyRecord[],
  hostModel: string,
  versions: Versions,
): EfficiencyRecord | undefined {
  return records.find((r) => sameKey(r, hostModel, versions));
}

/** The records with `record` in place of the one of its key. */
export function withRecord(records: readonly EfficiencyRecord[], record: EfficiencyRecord): EfficiencyRecord[] {
  return [...records.filter((r) => !sameKey(r, record.hostModel, record)), record];
}

/** The clock the host's datasheet figure of a metric assumes: boost for FP32, the tensor clock for tensor math. */
function datasheetClockMHz(metric: string, host: GpuEntry | undefined, plan: SessionPlan): number | undefined {
  const boost = host?.boostClockMHz ?? plan.boostClockMHz;
  return metric === 'fp32' ? boost : (host?.tensorClockMHz ?? boost);
}

export function hostEntryOf(plan: SessionPlan): GpuEntry | undefined {
  return builtinCatalog().entries.find((entry) => entry.key === plan.host);
}

/**
 * The plan's prediction of each metric without the clock lock: the session's share of the host at
 * datasheet clocks. The prediction is at the plan's clock lock (calibration keeps it so); bandwidth
 * is not clock-locked by calibration and stays as predicted.
 */
export function unthrottledPeaks(plan: SessionPlan, host = hostEntryOf(plan)): Record<string, number> {
  const lock = plan.clockLockMHz;
  const peaks: Record<string, number> = {};
  for (const row of plan.expected) {
    if (row.predicted === null || !(EFFICIENCY_METRICS as readonly string[]).includes(row.metric)) continue;
    const clock = datasheetClockMHz(row.metric, host, plan);
    peaks[row.metric] =
      COMPUTE.has(row.metric) && lock !== null && clock ? (row.predicted * clock) / lock : row.predicted;
  }
  return peaks;
}

/** The plan's compute predictions at a new clock lock (null: unlocked, at datasheet clocks). */
export function predictedAtClock(plan: SessionPlan, clockMHz: number | null, host = hostEntryOf(plan)): SessionPlan {
  const peaks = unthrottledPeaks(plan, host);
  const expected = plan.expected.map((row) => {
    const peak = peaks[row.metric];
    const clock = datasheetClockMHz(row.metric, host, plan);
    if (!COMPUTE.has(row.metric) || peak === undefined || !clock) return row;
    return { ...row, predicted: clockMHz === null ? peak : (peak * clockMHz) / clock };
  });
  return { ...plan, clockLockMHz: clockMHz, expected };
}

/** The efficiency of an un-throttled bench run of `session`, or why there is none. */
export function efficiencyRecord(
  output: BenchOutput,
  plan: SessionPlan,
  session: string,
  at: Date,
  host = hostEntryOf(plan),
): EfficiencyRecord | string {
  const { driver, torch, cuda } = output.versions ?? {};
  if (!driver || !torch) return 'bench.py reported no driver or torch version to key the efficiency by';
  const peaks = unthrottledPeaks(plan, host);
  const record: EfficiencyRecord = {
    hostModel: plan.host,
    driver,
    torch,
    cuda: cuda ?? null,
    at: at.toISOString(),
    session,
    strategy: plan.strategy,
    efficiency: {},
    measured: {},
    peak: {},
  };
  for (const result of output.results) {
    const peak = peaks[result.metric];
    if (peak === undefined || peak <= 0) continue;
    record.measured[result.metric] = result.median;
    record.peak[result.metric] = peak;
    record.efficiency[result.metric] = result.median / peak;
  }
  return Object.keys(record.efficiency).length ? record : 'the un-throttled run measured nothing with a modelled peak';
}

/**
 * The efficiency that scales the target's datasheet into its achievable rate, or why not: above
 * 100% (beyond the tolerance) the host's model is off (its SM count or clocks), and applying it
 * would promise the target more than its datasheet.
 */
export function usableEfficiency(record: EfficiencyRecord | undefined, metric: string): number | string {
  const value = record?.efficiency[metric];
  if (value === undefined)
    return record ? 'not measured in the un-throttled run' : "this host's efficiency is not measured yet";
  if (value > 1 + TOLERANCE)
    return `the host measured ${Math.round(value * 100)}% of its modelled peak un-throttled: the host's model is off, so the datasheet stands`;
  return value;
}

export function efficiencyFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.GPUDEV_CACHE ?? path.join(os.homedir(), '.cache', 'gpudev'), 'efficiency.json');
}

export function parseEfficiencyFile(text: string): EfficiencyRecord[] {
  try {
    const parsed = EfficiencyFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.records : [];
  } catch {
    return [];
  }
}

/** The store in a JSON file (an unreadable or invalid file counts as empty, and is replaced on save). */
export function fileEfficiencyStore(file = efficiencyFile()): EfficiencyStore {
  const read = () => fs.readFile(file, 'utf8').then(parseEfficiencyFile, () => []);
  return {
    find: async (hostModel, versions) => findEfficiency(await read(), hostModel, versions),
    save: async (record) => {
      const records = withRecord(await read(), record);
      await fs.mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temporary, `${JSON.stringify({ version: 1, records }, null, 2)}\n`, 'utf8');
      await fs.rename(temporary, file);
    },
  };
}

export function memoryEfficiencyStore(records: EfficiencyRecord[] = []): EfficiencyStore & {
  readonly records: EfficiencyRecord[];
} {
  return {
    records,
    find: (hostModel, versions) => Promise.resolve(findEfficiency(records, hostModel, versions)),
    save: (record) => {
      records.splice(0, records.length, ...withRecord(records, record));
      return Promise.resolve();
    },
  };
}
