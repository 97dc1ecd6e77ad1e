// Who else computes on a GPU: its compute processes (nvidia-smi) and their owners (ps), before apply
// changes MIG mode, clocks or power under them.
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';

export interface BusyProcess {
  readonly pid: number;
  readonly name: string;
  readonly memoryMiB: number | null;
  /** Null when the process is not visible from here (another PID namespace): it counts as someone else's. */
  readonly user: string | null;
}

/** `--query-compute-apps=pid,process_name,used_memory,gpu_uuid` rows of one GPU. */
export function computeAppsOf(csv: string, gpuUuid: string): Omit<BusyProcess, 'user'>[] {
  return csv
    .split('\n')
    .map((line) => line.split(/\s*,\s*/).map((cell) => cell.trim()))
    .filter((cells) => cells.length >= 4 && cells[3] === gpuUuid && /^\d+$/.test(cells[0]!))
    .map(([pid, name, memory]) => ({
      pid: Number(pid),
      name: name!,
      memoryMiB: /^\d+$/.test(memory!) ? Number(memory) : null,
    }));
}

/** `ps -o pid=,user= -p …` as pid → user. */
export function ownersOf(ps: string): Map<number, string> {
  return new Map(
    ps
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cells) => cells.length === 2 && /^\d+$/.test(cells[0]!))
      .map(([pid, user]) => [Number(pid), user!]),
  );
}

/** Every compute process on a GPU with its owner, and the user asking. */
export interface GpuProcesses {
  readonly user: string;
  readonly processes: readonly BusyProcess[];
}

/** The GPU's compute processes, each with its owner where `ps` sees it. */
export async function processesOnGpu(runner: Runner, gpuUuid: string): Promise<GpuProcesses | GpuDevError> {
  const apps = await runner.run([
    'nvidia-smi',
    '--query-compute-apps=pid,process_name,used_memory,gpu_uuid',
    '--format=csv,noheader,nounits',
  ]);
  if (apps.failure) return apps.failure;
  if (apps.exitCode !== 0)
    return {
      message: `cannot list the processes on ${gpuUuid} (${runner.label}): ${apps.stderr.trim() || apps.stdout.trim()}`,
    };
  const processes = computeAppsOf(apps.stdout, gpuUuid);
  if (!processes.length) return { user: '', processes: [] };
  const [ps, me] = await Promise.all([
    runner.run(['ps', '-o', 'pid=,user=', '-p', processes.map((p) => p.pid).join(',')]),
    runner.run(['id', '-un']),
  ]);
  const owners = ownersOf(ps.stdout);
  return { user: me.stdout.trim(), processes: processes.map((p) => ({ ...p, user: owners.get(p.pid) ?? null })) };
}

/** The GPU's compute processes that are not this user's. */
export async function busyByOthers(runner: Runner, gpuUuid: string): Promise<BusyProcess[] | GpuDevError> {
  const found = await processesOnGpu(runner, gpuUuid);
  if ('message' in found) return found;
  return found.processes.filter((p) => p.user !== found.user);
}

const SHOWN_PROCESSES = 5;

/**
 * The plan panel's note on a GPU that has compute processes, naming them (others' first), or
 * undefined when none runs. `changesGpuWide`: the plan changes settings every process on the GPU shares.
 */
export function busyNote(
  found: GpuProcesses,
  gpu: { readonly index: number; readonly utilizationPct: number | null },
  changesGpuWide: boolean,
): string | undefined {
  const all = found.processes;
  if (!all.length) return undefined;
  const mine = (p: BusyProcess) => p.user !== null && p.user === found.user;
  const ordered = [...all].sort((a, b) => Number(mine(a)) - Number(mine(b)));
  const owner = (p: BusyProcess) => (mine(p) ? 'yours' : (p.user ?? 'owner unknown'));
  const memory = (p: BusyProcess) => (p.memoryMiB === null ? '' : `, ${(p.memoryMiB / 1024).toFixed(1)} GiB`);
  const named = ordered.slice(0, SHOWN_PROCESSES).map((p) => `${p.name} (pid ${p.pid}, ${owner(p)}${memory(p)})`);
  const more = all.length > SHOWN_PROCESSES ? ` and ${all.length - SHOWN_PROCESSES} more` : '';
  const load = gpu.utilizationPct === null ? '' : `, ${gpu.utilizationPct} % utilisation`;
  const others = all.some((p) => !mine(p));
  const consequence = !changesGpuWide
    ? 'The cosplay shares its memory and compute with them: measurements come out lower.'
    : others
      ? 'Applying changes its MIG mode, clocks or power limit under them: Apply asks before going on.'
      : 'Applying changes its MIG mode, clocks or power limit under them.';
  return `GPU ${gpu.index} is in use (${all.length} process${all.length > 1 ? 'es' : ''}${load}): ${named.join(', ')}${more}. ${consequence}`;
}
