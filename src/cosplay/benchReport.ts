// What shim/bench.py --json measures, compared with the target's datasheet and the plan's prediction,
// and the reports kept under .gpudev/reports/ as JSON (one file per run).
import * as z from 'zod/mini';
import { TOLERANCE } from './fidelity';
import type { Expected, Session } from './session';

const BenchOutputSchema = z.object({
  target: z.nullable(z.string()),
  device: z.optional(z.string()),
  results: z.array(
    z.object({
      metric: z.string(),
      unit: z.string(),
      size: z.number(),
      samples: z.array(z.number()),
      median: z.number(),
    }),
  ),
  skipped: z.record(z.string(), z.string()),
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
  rows: z.array(FidelityRowSchema),
  samples: z.record(z.string(), z.array(z.number())),
});
export type FidelityReport = z.infer<typeof FidelityReportSchema>;

/** Within ±10% of the datasheet counts as a match. */
export function ratioLevel(ratio: number | null): 'match' | 'off' | 'none' {
  if (ratio === null) return 'none';
  return Math.abs(ratio - 1) <= TOLERANCE ? 'match' : 'off';
}

function rowOf(expected: Expected, output: BenchOutput): MeasuredRow {
  const result = output.results.find((r) => r.metric === expected.metric);
  const measured = result?.median ?? null;
  const ratio = measured !== null && expected.target ? measured / expected.target : null;
  const note = result ? '' : (output.skipped[expected.metric] ?? 'not measured');
  return { ...expected, measured, ratio, note };
}

export function fidelityReport(session: Session, output: BenchOutput, at: Date): FidelityReport {
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
    rows: session.plan.expected.map((expected) => rowOf(expected, output)),
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
