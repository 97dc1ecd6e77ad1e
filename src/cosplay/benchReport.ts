// What shim/bench.py --json measures, compared with the target's datasheet, its achievable rate (the
// datasheet × the host's measured efficiency) and the plan's prediction, and the reports kept under
// .gpudev/reports/ as JSON (one file per run).
import * as z from 'zod/mini';
import { usableEfficiency, type EfficiencyRecord } from './efficiency';
import { TOLERANCE } from './fidelity';
import type { Expected, Session } from './session';

const VersionsSchema = z.object({
  torch: z.nullable(z.string()),
  cuda: z.nullable(z.string()),
  driver: z.nullable(z.string()),
});

const BenchOutputSchema = z.object({
  target: z.nullable(z.string()),
  device: z.optional(z.string()),
  results: z.array(
    z.object({
      metric: z.string(),
      unit: z.string(),
      /** Bytes per copy or all-reduce. */
      size: z.optional(z.number()),
      /** The best GEMM shape, M N K. */
      shape: z.optional(z.array(z.number())),
      sweep: z.optional(z.array(z.object({ shape: z.array(z.number()), median: z.number() }))),
      ranks: z.optional(z.number()),
      samples: z.array(z.number()),
      median: z.number(),
    }),
  ),
  skipped: z.record(z.string(), z.string()),
  versions: z.optional(VersionsSchema),
  error: z.nullable(z.string()),
});
export type BenchOutput = z.infer<typeof BenchOutputSchema>;

export function parseBenchOutput(stdout: string): { ok: true; output: BenchOutput } | { ok: false; error: string } {
  try {
    const parsed = BenchOutputSchema.safeParse(JSON.parse(stdout));
    if (!parsed.success)
      return { ok: false, error: `bench.py printed an unexpected report: ${parsed.error.issues[0]?.message ?? ''}` };
    return parsed.data.error
      ? { ok: false, error: `bench.py: ${parsed.data.error}` }
      : { ok: true, output: parsed.data };
  } catch {
    return { ok: false, error: `bench.py did not print JSON: ${stdout.trim().slice(0, 200) || 'no output'}` };
  }
}

export const FidelityRowSchema = z.strictObject({
  metric: z.string(),
  label: z.string(),
  unit: z.string(),
  target: z.nullable(z.number()),
  predicted: z.nullable(z.number()),
  measured: z.nullable(z.number()),
  /** measured / target */
  ratio: z.nullable(z.number()),
  /** target × the host's efficiency, and measured / that; absent in reports made before efficiency. */
  achievable: z.optional(z.nullable(z.number())),
  achievableRatio: z.optional(z.nullable(z.number())),
  efficiency: z.optional(z.nullable(z.number())),
  /** Why there is no achievable target where there is none. */
  achievableNote: z.optional(z.string()),
  /** The best GEMM shape, M×N×K. */
  shape: z.optional(z.string()),
  note: z.string(),
});
export type MeasuredRow = z.infer<typeof FidelityRowSchema>;

export const FidelityReportSchema = z.strictObject({
  version: z.literal(1),
  at: z.string(),
  session: z.string(),
  target: z.string(),
  targetName: z.string(),
  host: z.string(),
  hostModel: z.string(),
  strategy: z.string(),
  device: z.optional(z.string()),
  versions: z.optional(
    z.strictObject({ torch: z.nullable(z.string()), cuda: z.nullable(z.string()), driver: z.nullable(z.string()) }),
  ),
  /** Where the efficiency came from: the un-throttled run of (host model, driver, torch). */
  efficiencyFrom: z.optional(z.strictObject({ at: z.string(), session: z.string(), strategy: z.string() })),
  rows: z.array(FidelityRowSchema),
  samples: z.record(z.string(), z.array(z.number())),
});
export type FidelityReport = z.infer<typeof FidelityReportSchema>;

/** Within ±10% counts as a match. */
export function ratioLevel(ratio: number | null): 'match' | 'off' | 'none' {
  if (ratio === null) return 'none';
  return Math.abs(ratio - 1) <= TOLERANCE ? 'match' : 'off';
}

function rowOf(expected: Expected, output: BenchOutput, record: EfficiencyRecord | undefined): MeasuredRow {
  const result = output.results.find((r) => r.metric === expected.metric);
  const measured = result?.median ?? null;
  const ratio = measured !== null && expected.target ? measured / expected.target : null;
  const note = result ? '' : (output.skipped[expected.metric] ?? 'not measured');
  const efficiency = usableEfficiency(record, expected.metric);
  const achievable = typeof efficiency === 'number' && expected.target ? expected.target * efficiency : null;
  return {
    ...expected,
    measured,
    ratio,
    achievable,
    achievableRatio: measured !== null && achievable ? measured / achievable : null,
    efficiency: typeof efficiency === 'number' ? efficiency : null,
    ...(typeof efficiency === 'string' && { achievableNote: efficiency }),
    ...(result?.shape && { shape: result.shape.join('×') }),
    note,
  };
}

/** All-reduce bus bandwidth: no datasheet figure to compare with (the plan's interconnect row says what links there are). */
function allReduceRow(output: BenchOutput): MeasuredRow[] {
  const result = output.results.find((r) => r.metric === 'allreduce');
  const skipped = output.skipped.allreduce;
  if (!result && skipped === undefined) return [];
  return [
    {
      metric: 'allreduce',
      label: 'All-reduce bus bandwidth',
      unit: 'GB/s',
      target: null,
      predicted: null,
      measured: result?.median ?? null,
      ratio: null,
      note: result
        ? `${result.ranks ?? '?'} GPUs, ${Math.round((result.size ?? 0) / 2 ** 20)} MiB per GPU; bus bandwidth as nccl-tests computes it: algbw × 2(n-1)/n`
        : `not measured: ${skipped}`,
    },
  ];
}

export function fidelityReport(
  session: Session,
  output: BenchOutput,
  at: Date,
  efficiency?: EfficiencyRecord,
): FidelityReport {
  return {
    version: 1,
    at: at.toISOString(),
    session: session.name,
    target: session.plan.target,
    targetName: session.plan.targetName,
    host: session.hostLabel,
    hostModel: session.plan.host,
    strategy: session.plan.strategy,
    ...(output.device && { device: output.device }),
    ...(output.versions && { versions: output.versions }),
    ...(efficiency && {
      efficiencyFrom: { at: efficiency.at, session: efficiency.session, strategy: efficiency.strategy },
    }),
    rows: [...session.plan.expected.map((expected) => rowOf(expected, output, efficiency)), ...allReduceRow(output)],
    samples: Object.fromEntries(output.results.map((r) => [r.metric, r.samples])),
  };
}

/** `rtx3090-on-lab-2026-11-23T12-00-00Z.json`: sortable, and safe as a file name whatever the host is called. */
export function reportFileName(report: FidelityReport): string {
  const safe = (text: string) => text.replace(/[^a-zA-Z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'host';
  return `${safe(report.target)}-on-${safe(report.host)}-${report.at.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
}

export function parseFidelityReport(text: string): FidelityReport | undefined {
  try {
    const parsed = FidelityReportSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Earlier reports of the same target on the same host, oldest first. */
export function historyFor(report: FidelityReport, all: readonly FidelityReport[]): FidelityReport[] {
  return all
    .filter((r) => r.target === report.target && r.host === report.host && r.at < report.at)
    .sort((a, b) => a.at.localeCompare(b.at));
}
