// A stand-in for the GPU: replays verbatim nvidia-smi fixtures from test/fixtures/nvidia-smi.
// The scenario is a default-/mig- table fixture's name, from GPUDEV_FAKE_SMI_SCENARIO or else from
// the file named by GPUDEV_FAKE_SMI_SCENARIO_FILE (so a test can swap GPUs under a running host).
// --query-gpu answers are the table's own values in nvidia-smi's CSV form; UUIDs come from the
// matching `-L` fixture where one was captured on the same machine. `-q` and `-q -x` repeat a one-GPU
// report once per GPU asked (fullQuery.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSmiTable, type TableGpu } from '../../src/hosts/nvidiaSmi/table';
import {
  fakeGpuUuid,
  migListing,
  migProfileName,
  migSize,
  mutate,
  readState,
  stateDir,
  type GpuState,
} from './hostState';
import { fullQuery } from './fullQuery';
import { visibleTable } from './visibleTable';

const fixtures = path.resolve(__dirname, '../../test/fixtures/nvidia-smi');
const SAME_MACHINE_LISTING: Record<string, string> = { 'default-h100-x8-570.133.20': 'list-h100-80gb-hbm3-x8' };
const FULL_QUERY: Record<string, string> = {
  'NVIDIA H100 80GB HBM3': 'q-h100-80gb-hbm3-545.23.08-a',
  'NVIDIA X999': 'constructed-q-x999',
};
const FULL_QUERY_XML: Record<string, string> = { 'NVIDIA H100 80GB HBM3': 'qx-h100-80gb-hbm3-545.23.08-from-q' };
// A GPU the catalog lacks (constructed fixtures, see the README): the host-model query and `mig -lgip`.
const HOST_MODEL_QUERY: Record<string, string> = { 'NVIDIA X999': 'constructed-query-x999-host-model' };
const PROFILES: Record<string, string> = { 'NVIDIA X999': 'constructed-lgip-x999' };
const HOST_MODEL_FIELDS =
  'name,memory.total,clocks.max.sm,clocks.max.mem,power.min_limit,power.max_limit,compute_cap,mig.mode.current';
const DRIVER_FAILURE =
  "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n";

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
const read = (name: string) => fs.readFileSync(path.join(fixtures, `${name}.txt`), 'utf8');

// A scenario named by the caller wins over the host's scenario file (as an SSH client's env over sshd's SetEnv).
function currentScenario(): string {
  const scenarioFile = process.env.GPUDEV_FAKE_SMI_SCENARIO_FILE;
  const name = (
    process.env.GPUDEV_FAKE_SMI_SCENARIO ?? (scenarioFile ? fs.readFileSync(scenarioFile, 'utf8') : '')
  ).trim();
  if (!name) fail('fake nvidia-smi: set GPUDEV_FAKE_SMI_SCENARIO (a fixture name) or GPUDEV_FAKE_SMI_SCENARIO_FILE');
  if (name === 'driver-failure') {
    process.stdout.write(DRIVER_FAILURE);
    process.exit(9);
  }
  if (!fs.existsSync(path.join(fixtures, `${name}.txt`))) fail(`fake nvidia-smi: no fixture ${name}`);
  return name;
}
let scenario = currentScenario();
const args = process.argv.slice(2);
let tableText = read(scenario);
let table = parseSmiTable(tableText);

function option(name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice(name.length + 1) : args[i + 1];
}

/** The captured UUIDs; made-up ones for a fake host of several (GPUDEV_FAKE_GPU_HOST) or without a listing. */
function uuids(): string[] {
  const listing = process.env.GPUDEV_FAKE_GPU_HOST ? undefined : SAME_MACHINE_LISTING[scenario];
  return listing
    ? [...read(listing).matchAll(/^GPU (\d+):.*\(UUID: (GPU-[^)]+)\)/gm)].map((m) => m[2]!)
    : table.gpus.map((g) => fakeGpuUuid(g.index));
}

function queryGpu(fields: string[], format: string): void {
  const units = !format.includes('nounits');
  const ids = uuids();
  const na = '[N/A]';
  const num = (value: number | null, unit = '') =>
    value === null ? na : units && unit ? `${value} ${unit}` : String(value);
  const watts = (value: number | null) => (value === null ? na : `${value.toFixed(2)}${units ? ' W' : ''}`);
  const columns: Record<string, { unit: string; value: (g: TableGpu) => string }> = {
    index: { unit: '', value: (g) => String(g.index) },
    uuid: { unit: '', value: (g) => ids[g.index] ?? na },
    name: { unit: '', value: (g) => g.name },
    'memory.used': { unit: 'MiB', value: (g) => num(g.memoryUsedMiB, 'MiB') },
    'memory.total': { unit: 'MiB', value: (g) => num(g.memoryTotalMiB, 'MiB') },
    'memory.free': {
      unit: 'MiB',
      value: (g) =>
        num(g.memoryUsedMiB === null || g.memoryTotalMiB === null ? null : g.memoryTotalMiB - g.memoryUsedMiB, 'MiB'),
    },
    'utilization.gpu': { unit: '%', value: (g) => num(g.utilizationPct, '%') },
    'temperature.gpu': { unit: '', value: (g) => num(g.temperatureC) },
    'power.draw': { unit: 'W', value: (g) => watts(g.powerDrawW) },
    'power.limit': { unit: 'W', value: (g) => watts(settings(g)?.powerLimitW ?? g.powerCapW) },
    // The locked clock where the state has one; the table has no clocks to replay otherwise.
    'clocks.sm': { unit: 'MHz', value: (g) => num(Number(settings(g)?.clocks?.split(',')[0]) || null, 'MHz') },
    'mig.mode.current': {
      unit: '',
      value: (g) => (g.migMode === null || g.migMode === 'N/A' ? na : (settings(g)?.migMode ?? g.migMode)),
    },
    persistence_mode: {
      unit: '',
      value: (g) => settings(g)?.persistence ?? (g.persistence === 'On' ? 'Enabled' : 'Disabled'),
    },
    'pci.bus_id': { unit: '', value: (g) => g.busId ?? na },
  };
  const unknown = fields.find((f) => !columns[f]);
  if (unknown) fail(`Field "${unknown}" is not a valid field to query.`);
  const lines = format.includes('noheader')
    ? []
    : [fields.map((f) => (units && columns[f]!.unit ? `${f} [${columns[f]!.unit}]` : f)).join(', ')];
  for (const gpu of selected()) lines.push(fields.map((f) => columns[f]!.value(gpu)).join(', '));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The GPUs a container sees: NVIDIA_VISIBLE_DEVICES (indices, GPU or MIG UUIDs), as the NVIDIA runtime
 * gives a container only its devices; every GPU elsewhere.
 */
function visible(): TableGpu[] {
  const devices = process.env.NVIDIA_VISIBLE_DEVICES;
  if (!devices || devices === 'all') return table.gpus;
  const ids = uuids();
  const wanted = devices.split(',').map((d) => d.trim());
  return table.gpus.filter((g) =>
    wanted.some((d) => d === String(g.index) || d === ids[g.index] || settings(g)?.instances.some((i) => i.uuid === d)),
  );
}

/** `-i N` (an index or a GPU UUID, as nvidia-smi takes either): that GPU only. */
function selected(): TableGpu[] {
  const only = option('-i') ?? option('--id');
  if (only === undefined) return visible();
  const ids = uuids();
  const gpu =
    visible().find((g) => String(g.index) === only || ids[g.index] === only) ??
    fail(`No devices were found matching the ID ${only}`, 6);
  return [gpu];
}

/** The GPU's changed settings, when the test keeps them (GPUDEV_FAKE_GPU_STATE). */
function settings(gpu: TableGpu): GpuState | undefined {
  const dir = stateDir();
  return dir
    ? readState(dir, gpu.index, () => ({
        clocks: null,
        memoryClocks: null,
        powerLimitW: gpu.powerCapW ?? 0,
        migMode: gpu.migMode ?? 'N/A',
        persistence: gpu.persistence === 'On' ? 'Enabled' : 'Disabled',
        instances: [],
      }))
    : undefined;
}

/** `-L`: the captured listing (all GPUs visible), else one made from the table, with MIG devices from the state. */
function listGpus(): void {
  const listing = SAME_MACHINE_LISTING[scenario];
  const all = !process.env.NVIDIA_VISIBLE_DEVICES || process.env.NVIDIA_VISIBLE_DEVICES === 'all';
  if (listing && !stateDir() && all) return void process.stdout.write(read(listing));
  const ids = uuids();
  // A container given MIG devices sees only those of its GPU's instances.
  const wanted = (process.env.NVIDIA_VISIBLE_DEVICES ?? '').split(',').map((d) => d.trim());
  const seen = (state: GpuState): GpuState => {
    const given = state.instances.filter((i) => wanted.includes(i.uuid));
    return given.length ? { ...state, instances: given } : state;
  };
  const lines = visible().flatMap((g) => [
    `GPU ${g.index}: ${g.name} (UUID: ${ids[g.index]})`,
    ...migListing(seen(settings(g) ?? ({ instances: [] } as unknown as GpuState))),
  ]);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `mig -lgi`: the GPU instances of the state, in nvidia-smi's table. */
function listGpuInstances(): void {
  const gpu = selected()[0]!;
  const state = settings(gpu);
  if (!state || state.migMode !== 'Enabled') fail(`No MIG-enabled devices found.`, 6);
  if (!state.instances.length) return void process.stdout.write('No GPU instances found: Not Found\n');
  const rows = state.instances.map(
    (i) =>
      `|   ${gpu.index}  MIG ${migProfileName(i.profileId).padEnd(14)} ${String(i.profileId).padStart(3)}  ${String(i.gi).padStart(6)}         ${i.start}:${migSize(i.profileId)}     |`,
  );
  process.stdout.write(
    [
      '+-------------------------------------------------------+',
      '| GPU instances:                                        |',
      '| GPU   Name             Profile  Instance   Placement  |',
      '|                          ID       ID       Start:Size |',
      '|=======================================================|',
      ...rows,
      '+-------------------------------------------------------+',
      '',
    ].join('\n'),
  );
}

/** A command that changes the GPU (clocks, power, MIG): applied to the state, or refused with nvidia-smi's exit status. */
function change(): boolean {
  const gpu = selected()[0]!;
  const state = settings(gpu);
  if (!state) return false;
  try {
    const out = mutate(args, gpu.index, state);
    if (out === null) return false;
    process.stdout.write(out);
  } catch (error) {
    fail((error as Error).message, 3);
  }
  return true;
}

/**
 * --query-compute-apps: the table's Processes section, tied to GPUs by their bus id — or, when the test
 * keeps the GPU's state, the processes of `processes.json` there (none: an idle host; a test may add
 * real pids of other users).
 */
function queryApps(fields: string[], format: string): void {
  const units = !format.includes('nounits');
  const busOf = new Map(table.gpus.map((g) => [g.index, g.busId]));
  const ids = uuids();
  const columns: Record<string, (p: (typeof table.processes)[number]) => string> = {
    pid: (p) => String(p.pid),
    process_name: (p) => p.name,
    used_memory: (p) => (p.memoryMiB === null ? '[N/A]' : `${p.memoryMiB}${units ? ' MiB' : ''}`),
    gpu_bus_id: (p) => busOf.get(p.gpu) ?? '[N/A]',
    gpu_uuid: (p) => ids[p.gpu] ?? '[N/A]',
  };
  const unknown = fields.find((f) => !columns[f]);
  if (unknown) fail(`Field "${unknown}" is not a valid field to query.`);
  const lines = format.includes('noheader') ? [] : [fields.join(', ')];
  const dir = stateDir();
  const kept =
    dir && fs.existsSync(path.join(dir, 'processes.json'))
      ? (JSON.parse(fs.readFileSync(path.join(dir, 'processes.json'), 'utf8')) as typeof table.processes)
      : undefined;
  for (const p of kept ?? table.processes) lines.push(fields.map((f) => columns[f]!(p)).join(', '));
  process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
}

function loopMs(): number {
  const ms = option('-lms') ?? option('--loop-ms');
  const seconds = option('-l') ?? option('--loop');
  return ms ? Number(ms) : seconds ? Number(seconds) * 1000 : 0;
}

const query = option('--query-gpu');
const apps = option('--query-compute-apps');
const onlyOne = args.length === 2 && (args[0] === '-i' || args[0] === '--id');
if (args.length === 0 || onlyOne) {
  // The table of the visible GPUs, or with `-i` of that one GPU (as a process session's shim asks).
  const devices = process.env.NVIDIA_VISIBLE_DEVICES;
  const seen =
    !onlyOne && (!devices || devices === 'all')
      ? tableText
      : visibleTable(tableText, new Set(selected().map((g) => g.index)));
  process.stdout.write(seen);
} else if (apps) queryApps(apps.split(','), option('--format') ?? 'csv');
else if (query && loopMs()) {
  // -lms / -l: a sample per tick until killed, from the scenario of that moment (a test may swap GPUs).
  const tick = () => {
    scenario = currentScenario();
    tableText = read(scenario);
    table = parseSmiTable(tableText);
    queryGpu(query.split(','), option('--format') ?? 'csv');
  };
  tick();
  setInterval(tick, loopMs());
} else if (query === HOST_MODEL_FIELDS && HOST_MODEL_QUERY[selected()[0]?.name ?? ''])
  process.stdout.write(read(HOST_MODEL_QUERY[selected()[0]!.name]!).repeat(selected().length));
else if (query) queryGpu(query.split(','), option('--format') ?? 'csv');
else if (args[0] === '-L') listGpus();
else if (args[0] === 'mig' && args.includes('-lgi')) listGpuInstances();
else if (args[0] === 'mig' && args.includes('-lgip')) {
  const gpu = selected()[0]!;
  const profiles = PROFILES[gpu.name] ?? fail('No MIG-supported devices found.', 6);
  process.stdout.write(read(profiles).replace(/^\| {3}0 /gm, `|   ${gpu.index} `));
} else if (args[0] === '-q') {
  const xml = args.includes('-x') || args.includes('--xml-format');
  const full =
    (xml ? FULL_QUERY_XML : FULL_QUERY)[table.gpus[0]?.name ?? ''] ??
    fail(`fake nvidia-smi: no -q fixture for ${scenario}`);
  process.stdout.write(fullQuery(read(full), selected(), visible().length, uuids(), xml));
} else if (!change()) fail(`fake nvidia-smi: arguments not replayed: ${args.join(' ')}`);
