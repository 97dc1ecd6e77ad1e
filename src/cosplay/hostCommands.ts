// Running host commands: sudo and environment by argv, output checked; what a GPU's MIG state is.
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { parseMigInstances, type MigInstance } from '../hosts/nvidiaSmi/migInstances';
import type { HostCommand } from './planner';

/** Long enough for MIG mode changes and instance creation on a busy GPU. */
const HOST_COMMAND_TIMEOUT_MS = 120_000;

/** The argv that runs `command` as given: `sudo -n` (never a password prompt) and `env K=V` where needed. */
export function hostArgv(command: HostCommand, sudo: boolean): string[] {
  const env = Object.entries(command.env ?? {}).map(([k, v]) => `${k}=${v}`);
  return [...(sudo ? ['sudo', '-n'] : []), ...(env.length ? ['env', ...env] : []), ...command.argv];
}

/** Runs a host command; its stdout, or what went wrong in a sentence. */
export async function runHostCommand(
  runner: Runner,
  command: HostCommand,
  sudo: boolean,
): Promise<{ ok: true; stdout: string } | { ok: false; error: GpuDevError }> {
  const argv = hostArgv(command, sudo);
  const result = await runner.run(argv, { timeoutMs: HOST_COMMAND_TIMEOUT_MS, stdin: command.stdin });
  if (result.failure) return { ok: false, error: result.failure };
  const shown = command.argv.join(' ');
  if (result.notFound)
    return {
      ok: false,
      error: {
        message: `${argv[0]} not found on ${runner.label}`,
        hint:
          argv[0] === 'sudo' ? 'install sudo or turn sudo off for this host' : 'install the NVIDIA driver tools there',
      },
    };
  if (result.timedOut)
    return {
      ok: false,
      error: { message: `${shown} did not finish on ${runner.label} in ${HOST_COMMAND_TIMEOUT_MS / 1000} s` },
    };
  if (result.exitCode !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' ');
    const needsSudo = sudo && /a password is required|a terminal is required/.test(said);
    return {
      ok: false,
      error: {
        message: `${shown} failed on ${runner.label} (exit ${result.exitCode ?? 'killed'}): ${said || 'no output'}`,
        hint: needsSudo ? 'allow these commands without a password (sudoers NOPASSWD) for your user' : undefined,
      },
    };
  }
  return { ok: true, stdout: result.stdout };
}

/** The highest supported memory clock at most `percent` of the highest one, from `--query-supported-clocks=memory`. */
export function memoryClockAtMost(csv: string, percent: number): number | null {
  const clocks = [
    ...new Set(
      csv
        .split('\n')
        .map((line) => Number.parseInt(line, 10))
        .filter((n) => Number.isFinite(n) && n > 0),
    ),
  ];
  if (!clocks.length) return null;
  const ceiling = (Math.max(...clocks) * percent) / 100;
  const fitting = clocks.filter((c) => c <= ceiling);
  return fitting.length ? Math.max(...fitting) : Math.min(...clocks);
}

/** The GPU instance id `nvidia-smi mig -cgi … -C` reports having created. */
export function createdGpuInstance(stdout: string): string | null {
  return /created GPU instance ID\s+(\d+)/i.exec(stdout)?.[1] ?? null;
}

/** MIG device UUIDs of one GPU in `nvidia-smi -L` output. */
export function migUuidsOf(listing: string, gpuIndex: number): string[] {
  const uuids: string[] = [];
  let current = -1;
  for (const line of listing.split('\n')) {
    const gpu = /^GPU (\d+):/.exec(line);
    if (gpu) current = Number(gpu[1]);
    const mig = /^\s+MIG .*\(UUID: (MIG-[^)]+)\)/.exec(line);
    if (mig && current === gpuIndex) uuids.push(mig[1]!);
  }
  return uuids;
}

/** The GPU's MIG state for the planner: undefined when MIG mode is off (or the GPU has none). */
export async function migStateOf(
  runner: Runner,
  gpu: { readonly index: number; readonly migMode: string | null },
): Promise<{ enabled: true; instances: MigInstance[] } | undefined> {
  if (gpu.migMode !== 'Enabled') return undefined;
  const result = await runner.run(['nvidia-smi', 'mig', '-lgi', '-i', String(gpu.index)]);
  return {
    enabled: true,
    instances: parseMigInstances(result.stdout).instances.filter((instance) => instance.gpu === gpu.index),
  };
}
