// What a host GPU says about itself, for planning on a model the catalog lacks: one --query-gpu
// line, the `-q` report (architecture, ECC, default power limit) and `mig -lgip` (MIG profiles).
import { cleanCell, parseMeasure } from './values';
import { parseQueryCsv } from './queryCsv';

export const HOST_MODEL_FIELDS = [
  'name',
  'memory.total',
  'clocks.max.sm',
  'clocks.max.mem',
  'power.min_limit',
  'power.max_limit',
  'compute_cap',
  'mig.mode.current',
] as const;

export function hostModelQueryArgs(index: number): string[] {
  return ['-i', String(index), `--query-gpu=${HOST_MODEL_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

export interface HostModelQuery {
  readonly name: string;
  readonly memoryMiB: number;
  readonly maxSmClockMHz: number | null;
  readonly maxMemoryClockMHz: number | null;
  readonly powerLimitW: { readonly min: number; readonly max: number } | null;
  readonly computeCapability: string | null;
  readonly migEnabled: boolean;
}

/** The first GPU of a host-model query, or what is wrong with the answer. */
export function parseHostModelQuery(text: string): { ok: true; query: HostModelQuery } | { ok: false; error: string } {
  const parsed = parseQueryCsv(text, HOST_MODEL_FIELDS);
  const row = parsed.rows[0];
  if (!row || parsed.problems.length) return { ok: false, error: parsed.problems[0] ?? 'no GPU in the answer' };
  const name = row.name;
  const memoryMiB = parseMeasure(row['memory.total'] ?? undefined);
  if (!name || memoryMiB === null) return { ok: false, error: 'no name or memory.total in the answer' };
  const min = parseMeasure(row['power.min_limit'] ?? undefined);
  const max = parseMeasure(row['power.max_limit'] ?? undefined);
  const cc = row.compute_cap;
  return {
    ok: true,
    query: {
      name,
      memoryMiB,
      maxSmClockMHz: parseMeasure(row['clocks.max.sm'] ?? undefined),
      maxMemoryClockMHz: parseMeasure(row['clocks.max.mem'] ?? undefined),
      powerLimitW: min !== null && max !== null && min > 0 && min <= max ? { min, max } : null,
      computeCapability: cc && /^\d+\.\d+$/.test(cc) ? cc : null,
      migEnabled: row['mig.mode.current'] === 'Enabled',
    },
  };
}

export interface QReportFacts {
  readonly architecture: string | null;
  /** ECC mode current: null where the GPU has no ECC (N/A). */
  readonly eccEnabled: boolean | null;
  readonly defaultPowerLimitW: number | null;
}

/** The value of the first `Key : value` line named `key` after a line named `section` (or anywhere without one). */
function field(lines: readonly string[], key: string, section?: string): string | null {
  const from = section ? lines.findIndex((l) => l.trim() === section) : 0;
  if (from < 0) return null;
  for (const line of lines.slice(from + (section ? 1 : 0))) {
    const match = /^\s*([^:]+?)\s*:\s(.*)$/.exec(line);
    if (match && match[1] === key) return cleanCell(match[2]);
  }
  return null;
}

/** Facts from `nvidia-smi -q -i N` that the query cannot give. */
export function parseQReport(text: string): QReportFacts {
  const lines = text.split(/\r?\n/);
  const ecc = field(lines, 'Current', 'ECC Mode');
  return {
    architecture: field(lines, 'Product Architecture'),
    eccEnabled: ecc === null ? null : ecc === 'Enabled',
    defaultPowerLimitW: parseMeasure(field(lines, 'Default Power Limit') ?? undefined),
  };
}

export interface LgipProfile {
  readonly name: string;
  readonly id: number;
  readonly maxInstances: number;
  readonly memoryMiB: number;
  readonly smCount: number;
}

const LGIP_ROW = /^\|\s*(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\/(\d+)\s+(\d+(?:\.\d+)?)\s+(?:Yes|No)\s+(\d+)\s+/;

/** The GPU instance profiles `nvidia-smi mig -lgip` lists for GPU `gpu`; none where the GPU has no MIG. */
export function parseLgip(text: string, gpu: number): LgipProfile[] {
  return text
    .split(/\r?\n/)
    .map((line) => LGIP_ROW.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null && Number(match[1]) === gpu)
    .map(([, , name, id, , total, gib, sms]) => ({
      name: name!,
      id: Number(id),
      maxInstances: Number(total),
      memoryMiB: Math.round(Number(gib) * 1024),
      smCount: Number(sms),
    }));
}

/** Everything a host GPU reports about its model. */
export interface HostReport {
  readonly query: HostModelQuery;
  readonly q: QReportFacts;
  readonly lgip: readonly LgipProfile[];
}
