// What shim/verify.py --json prints, read defensively: it comes out of a container.
import * as z from 'zod/mini';

const CheckSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['pass', 'fail', 'skip']),
  expected: z.unknown(),
  actual: z.unknown(),
  detail: z.optional(z.string()),
});
export type VerifyCheck = z.infer<typeof CheckSchema>;

const VerifyReportSchema = z.object({ checks: z.array(CheckSchema) });
export type VerifyReport = z.infer<typeof VerifyReportSchema>;

export function parseVerifyReport(stdout: string): { ok: true; report: VerifyReport } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return { ok: false, error: `verify.py did not print JSON: ${stdout.trim().slice(0, 200) || 'no output'}` };
  }
  const parsed = VerifyReportSchema.safeParse(json);
  return parsed.success
    ? { ok: true, report: parsed.data }
    : { ok: false, error: `verify.py printed an unexpected report: ${parsed.error.issues[0]?.message ?? ''}` };
}

/** "✓ 23/24": checks passed out of those that ran (skipped ones do not count). */
export function verifySummary(report: VerifyReport): string {
  const ran = report.checks.filter((c) => c.status !== 'skip');
  const passed = ran.filter((c) => c.status === 'pass').length;
  return `${passed === ran.length ? '✓' : '✗'} ${passed}/${ran.length}`;
}

/** A value from the report as a person reads it. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'nothing');
}
