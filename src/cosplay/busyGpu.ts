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

/** The GPU's compute processes that are not this user's. */
export async function busyByOthers(runner: Runner, gpuUuid: string): Promise<BusyProcess[] | GpuDevError> {
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
  if (!processes.length) return [];
  const [ps, me] = await Promise.all([
    runner.run(['ps', '-o', 'pid=,user=', '-p', processes.map((p) => p.pid).join(',')]),
    runner.run(['id', '-un']),
  ]);
  const owners = ownersOf(ps.stdout);
  const user = me.stdout.trim();
  return processes.map((p) => ({ ...p, user: owners.get(p.pid) ?? null })).filter((p) => p.user !== user);
}
