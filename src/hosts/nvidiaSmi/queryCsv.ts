import type { GpuProcess, GpuSample } from '../gpu';
import { cleanCell, parseMeasure } from './values';

/** The fields the monitor samples, in the order it asks for them. */
export const MONITOR_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.used',
  'memory.total',
  'utilization.gpu',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'mig.mode.current',
  'pci.bus_id',
] as const;

/** Compute processes, tied to their GPU by PCI bus id (UUIDs are not always printed). */
export const PROCESS_FIELDS = ['pid', 'process_name', 'used_memory', 'gpu_bus_id'] as const;

export function processQueryArgs(): string[] {
  return [`--query-compute-apps=${PROCESS_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

export function monitorQueryArgs(): string[] {
  return [`--query-gpu=${MONITOR_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

export interface CsvQuery {
  readonly fields: readonly string[];
  readonly rows: ReadonlyArray<Readonly<Record<string, string | null>>>;
  /** Lines that did not fit, described for the log. The rows that did fit are still returned. */
  readonly problems: readonly string[];
}

/** "memory.total [MiB]" → "memory.total". */
function fieldName(headerCell: string): string {
  return headerCell.replace(/\s*\[[^\]]*\]\s*$/, '').trim();
}

/**
 * Parses `nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]`.
 * With `fields` the columns are known (noheader); a header line, if present, is skipped.
 * Without `fields` the first line must be the header.
 */
export function parseQueryCsv(text: string, fields?: readonly string[]): CsvQuery {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const problems: string[] = [];
  let columns = fields;
  if (lines.length > 0 && (!columns || fieldName(lines[0]!.split(',')[0]!) === columns[0])) {
    const header = lines.shift()!.split(',').map(fieldName);
    columns ??= header;
  }
  if (!columns) return { fields: [], rows: [], problems: ['no header line'] };
  const rows = lines.map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) {
      problems.push(
        `line ${i + 1}: ${cells.length} values for ${columns.length} fields: ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    return Object.fromEntries(columns.map((field, c) => [field, cleanCell(cells[c])]));
  });
  return { fields: columns, rows, problems };
}

/** Rows of a monitor query as samples. Rows without a usable index keep their position. */
export function toGpuSamples(query: CsvQuery): GpuSample[] {
  return query.rows.map((row, position) => {
    const index = parseMeasure(row['index'] ?? undefined);
    const safeIndex = index !== null && Number.isInteger(index) && index >= 0 ? index : position;
    return {
      index: safeIndex,
      uuid: row['uuid'] ?? null,
      name: row['name'] ?? `GPU ${safeIndex}`,
      memoryUsedMiB: parseMeasure(row['memory.used'] ?? undefined),
      memoryTotalMiB: parseMeasure(row['memory.total'] ?? undefined),
      utilizationPct: parseMeasure(row['utilization.gpu'] ?? undefined),
      temperatureC: parseMeasure(row['temperature.gpu'] ?? undefined),
      powerDrawW: parseMeasure(row['power.draw'] ?? undefined),
      powerLimitW: parseMeasure(row['power.limit'] ?? undefined),
      migMode: row['mig.mode.current'] ?? null,
      busId: row['pci.bus_id'] ?? null,
    };
  });
}

/** Rows of a compute-apps query; rows without a pid are dropped (and were reported as problems). */
export function toGpuProcesses(query: CsvQuery): Array<GpuProcess & { busId: string | null }> {
  return query.rows.flatMap((row) => {
    const pid = parseMeasure(row['pid'] ?? undefined);
    if (pid === null) return [];
    return [
      {
        pid,
        name: row['process_name'] ?? '?',
        usedMemoryMiB: parseMeasure(row['used_memory'] ?? undefined),
        busId: row['gpu_bus_id'] ?? null,
      },
    ];
  });
}
