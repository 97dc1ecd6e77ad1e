import { cleanCell, parseMeasure } from './values';

/** What plain `nvidia-smi` prints, read back. Values the table shows as N/A are null. */
export interface SmiTable {
  readonly header: SmiHeader | null;
  readonly gpus: TableGpu[];
  readonly migDevices: TableMigDevice[];
  readonly processes: TableProcess[];
  readonly problems: string[];
}

export interface SmiHeader {
  readonly smiVersion: string;
  /** The driver version, or the KMD version in the 610+ "kmd" header style. */
  readonly driverVersion: string;
  readonly cudaVersion: string | null;
  readonly style: 'driver' | 'kmd';
}

export interface TableGpu {
  readonly index: number;
  /** As printed: long names come truncated ("NVIDIA GeForce ..."). */
  readonly name: string;
  readonly persistence: string | null;
  readonly busId: string | null;
  readonly temperatureC: number | null;
  readonly perfState: string | null;
  readonly powerDrawW: number | null;
  readonly powerCapW: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly utilizationPct: number | null;
  readonly computeMode: string | null;
  /** Raw MIG M. cell ("Enabled", "Disabled", "N/A"); null where the layout has no MIG row. */
  readonly migMode: string | null;
}

export interface TableMigDevice {
  readonly gpu: number;
  readonly gi: number;
  readonly ci: number;
  readonly migDev: number;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly sm: number | null;
}

export interface TableProcess {
  readonly gpu: number;
  readonly gi: number | null;
  readonly ci: number | null;
  readonly pid: number;
  readonly type: string;
  readonly name: string;
  /** null when printed as N/A or truncated ("13583..."); `memoryRaw` keeps what was printed. */
  readonly memoryMiB: number | null;
  readonly memoryRaw: string;
}

const HEADER = /NVIDIA-SMI\s+(\S+)\s+(Driver|KMD) Version:\s+(\S+)(?:\s+CUDA(?: UMD)? Version:\s+(\S+))?/;

/** Cells between the outer `|`s of a table line, or null for lines that are not table rows. */
function cells(line: string): string[] | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('|')) return null;
  return trimmed.split('|').slice(1, trimmed.endsWith('|') ? -1 : undefined);
}

/** The row blocks of the table that starts after the `|===|` line following `title`; blocks end at `+---` lines. */
function tableBlocks(lines: string[], title: RegExp): string[][][] {
  const start = lines.findIndex((line) => title.test(line));
  if (start < 0) return [];
  const rule = lines.findIndex((line, i) => i > start && /^\s*\|=+/.test(line));
  if (rule < 0) return [];
  const blocks: string[][][] = [];
  let block: string[][] = [];
  for (const line of lines.slice(rule + 1)) {
    const row = cells(line);
    if (row) {
      block.push(row);
      continue;
    }
    if (block.length) blocks.push(block);
    block = [];
    if (!/^\s*\+[-+]+\+?\s*$/.test(line)) break;
  }
  if (block.length) blocks.push(block);
  return blocks;
}

function pair(cell: string | undefined): [number | null, number | null] {
  const [left, right] = (cell ?? '').split('/');
  return [parseMeasure(left), parseMeasure(right)];
}

function integer(raw: string | undefined): number | null {
  const value = cleanCell(raw);
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function readGpu(block: string[][], problems: string[]): TableGpu | null {
  const [first = [], second = [], third] = block;
  const identity =
    /^\s*(\d+)\s+(.*?)\s+(On|Off|N\/A)\s*$/.exec(first[0] ?? '') ?? /^\s*(\d+)\s+(.*?)\s*$/.exec(first[0] ?? '');
  if (!identity) {
    problems.push(`GPU row not understood: ${JSON.stringify(first.join('|').slice(0, 120))}`);
    return null;
  }
  const [, , temperature, perf, power = ''] = /^\s*(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(second[0] ?? '') ?? [];
  const [powerDrawW, powerCapW] = pair(power);
  const [memoryUsedMiB, memoryTotalMiB] = pair(second[1]);
  const [utilization, computeMode] = (second[2] ?? '').trim().split(/\s+/);
  return {
    index: Number(identity[1]),
    name: identity[2]!.trim(),
    persistence: cleanCell(identity[3]),
    busId: cleanCell(first[1]?.trim().split(/\s+/)[0]),
    temperatureC: parseMeasure(temperature),
    perfState: cleanCell(perf),
    powerDrawW,
    powerCapW,
    memoryUsedMiB,
    memoryTotalMiB,
    utilizationPct: parseMeasure(utilization),
    computeMode: cleanCell(computeMode),
    migMode: third ? third[2]?.trim() || null : null,
  };
}

function readMigDevice(block: string[][]): TableMigDevice | null {
  const [first = []] = block;
  const ids = (first[0] ?? '').trim().split(/\s+/).map(Number);
  if (ids.length !== 4 || ids.some((n) => !Number.isInteger(n))) return null;
  const [memoryUsedMiB, memoryTotalMiB] = pair(first[1]);
  return {
    gpu: ids[0]!,
    gi: ids[1]!,
    ci: ids[2]!,
    migDev: ids[3]!,
    memoryUsedMiB,
    memoryTotalMiB,
    sm: integer(first[2]?.trim().split(/\s+/)[0]),
  };
}

const PROCESS = /^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(.*?)\s+(\S+)\s*$/;

function readProcess(row: string[]): TableProcess | null {
  const match = PROCESS.exec(row[0] ?? '');
  if (!match) return null;
  const memoryRaw = match[7]!;
  return {
    gpu: Number(match[1]),
    gi: integer(match[2]),
    ci: integer(match[3]),
    pid: Number(match[4]),
    type: match[5]!,
    name: match[6]!,
    memoryMiB: parseMeasure(memoryRaw),
    memoryRaw,
  };
}

/** Parses the default `nvidia-smi` table of any driver generation (450 … 610+). Never throws. */
export function parseSmiTable(text: string): SmiTable {
  const lines = text.split(/\r?\n/);
  const problems: string[] = [];
  const headerMatch = lines.map((line) => HEADER.exec(line)).find(Boolean);
  const header: SmiHeader | null = headerMatch
    ? {
        smiVersion: headerMatch[1]!,
        style: headerMatch[2] === 'KMD' ? 'kmd' : 'driver',
        driverVersion: headerMatch[3]!,
        cudaVersion: headerMatch[4] ?? null,
      }
    : null;
  if (!header) problems.push('no NVIDIA-SMI header line');
  const gpus = tableBlocks(lines, /\|\s*GPU\s+Name\b/)
    .map((block) => readGpu(block, problems))
    .filter((gpu): gpu is TableGpu => gpu !== null);
  if (gpus.length === 0) problems.push('no GPU rows');
  const migDevices = tableBlocks(lines, /MIG devices:/)
    .map(readMigDevice)
    .filter((dev): dev is TableMigDevice => dev !== null);
  const processes = tableBlocks(lines, /\|\s*Processes:/)
    .flat()
    .map(readProcess)
    .filter((p): p is TableProcess => p !== null);
  return { header, gpus, migDevices, processes, problems };
}
