// What a session changes on a GPU host, as typed intents, and the argv that makes and undoes each one.
// The journal on the host records these; only this code turns them into commands (never argv read back
// from a file or a label). GPUs are addressed by UUID, never by index.
import * as z from 'zod/mini';
import type { HostCommand } from './planner';

export const GPU_UUID = /^GPU-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const MIG_UUID = /^MIG-[0-9a-fA-F-]{20,40}$|^MIG-GPU-[0-9a-fA-F-]{36}\/\d+\/\d+$/;
/** What `newSessionName` makes: also a Docker container name and a folder name. */
export const SESSION_NAME = /^gpudev-[a-zA-Z0-9_.-]{1,100}$/;
export const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

/** The order GPUs' host locks are taken in by every apply, stop and clean-up, so none waits on another in a cycle. */
export function inLockOrder(gpuUuids: readonly string[]): string[] {
  return [...gpuUuids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

export const ChangeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('persistence'), originalEnabled: z.boolean() }),
  z.strictObject({ kind: z.literal('migMode'), originalEnabled: z.boolean() }),
  z.strictObject({ kind: z.literal('clockLock'), mhz: int(100, 5000) }),
  z.strictObject({ kind: z.literal('memoryClockLock'), mhz: int(100, 50_000) }),
  z.strictObject({ kind: z.literal('powerCap'), watts: int(1, 5000), originalWatts: int(1, 5000) }),
  z.strictObject({
    kind: z.literal('gpuInstance'),
    profile: z.string().check(z.regex(/^\d+g\.\d+gb(\+\w+)?$/)),
    profileId: int(0, 63),
    start: int(0, 15),
    gi: z.optional(int(0, 63)),
    migUuid: z.optional(z.string().check(z.regex(MIG_UUID))),
  }),
  // The folder is checked against the journal's own MPS root where it is used (`mpsFolderOk`).
  z.strictObject({ kind: z.literal('mpsDaemon'), folder: z.string().check(z.regex(/^\/[\w./-]{1,400}$/)) }),
  // A process session's folder (checked against the journal's own folder where used: `sessionFolderOk`) and its sshd.
  z.strictObject({
    kind: z.literal('processSession'),
    folder: z.string().check(z.regex(/^\/[\w./-]{1,400}$/)),
    port: z.optional(int(1, 65535)),
    pid: z.optional(int(2, 2 ** 31)),
  }),
  z.strictObject({
    kind: z.literal('container'),
    name: z.string().check(z.regex(SESSION_NAME)),
    id: z.optional(z.string().check(z.regex(CONTAINER_ID))),
  }),
]);
export type Change = z.infer<typeof ChangeSchema>;
export type ChangeKind = Change['kind'];

/** Settings every session on the GPU shares: made by the first, undone when the last one leaves. */
export const GPU_WIDE: ReadonlySet<ChangeKind> = new Set([
  'persistence',
  'migMode',
  'clockLock',
  'memoryClockLock',
  'powerCap',
]);

/** The argv shapes, shared by the plan's display (with placeholders) and the journal's commands. */
export const argv = {
  persistence: (gpu: string, on: string) => ['nvidia-smi', '-i', gpu, '-pm', on],
  migMode: (gpu: string, on: string) => ['nvidia-smi', '-i', gpu, '-mig', on],
  lockClocks: (gpu: string, mhz: string) => ['nvidia-smi', '-i', gpu, '-lgc', `${mhz},${mhz}`],
  resetClocks: (gpu: string) => ['nvidia-smi', '-i', gpu, '-rgc'],
  lockMemoryClocks: (gpu: string, mhz: string) => ['nvidia-smi', '-i', gpu, '-lmc', `${mhz},${mhz}`],
  resetMemoryClocks: (gpu: string) => ['nvidia-smi', '-i', gpu, '-rmc'],
  powerLimit: (gpu: string, watts: string) => ['nvidia-smi', '-i', gpu, '-pl', watts],
  createGpuInstance: (gpu: string, profileId: string, start: string) => [
    'nvidia-smi',
    'mig',
    '-i',
    gpu,
    '-cgi',
    `${profileId}:${start}`,
    '-C',
  ],
  destroyComputeInstances: (gpu: string, gi: string) => ['nvidia-smi', 'mig', '-i', gpu, '-dci', '-gi', gi],
  destroyGpuInstance: (gpu: string, gi: string) => ['nvidia-smi', 'mig', '-i', gpu, '-dgi', '-gi', gi],
  mpsStart: (folder: string): HostCommand => ({ argv: ['nvidia-cuda-mps-control', '-d'], env: mpsEnv(folder) }),
  mpsQuit: (folder: string): HostCommand => ({
    argv: ['nvidia-cuda-mps-control'],
    stdin: 'quit\n',
    env: mpsEnv(folder),
  }),
} as const;

export function mpsEnv(folder: string): Record<string, string> {
  return { CUDA_MPS_PIPE_DIRECTORY: `${folder}/pipe`, CUDA_MPS_LOG_DIRECTORY: `${folder}/log` };
}

const cmd = (args: readonly string[]): HostCommand => ({ argv: args });

/** The command that makes a change (container changes are Docker's, not the host's: null). */
export function makeCommand(change: Change, gpuUuid: string): HostCommand | null {
  switch (change.kind) {
    case 'persistence':
      return cmd(argv.persistence(gpuUuid, '1'));
    case 'migMode':
      return cmd(argv.migMode(gpuUuid, '1'));
    case 'clockLock':
      return cmd(argv.lockClocks(gpuUuid, String(change.mhz)));
    case 'memoryClockLock':
      return cmd(argv.lockMemoryClocks(gpuUuid, String(change.mhz)));
    case 'powerCap':
      return cmd(argv.powerLimit(gpuUuid, String(change.watts)));
    case 'gpuInstance':
      return cmd(argv.createGpuInstance(gpuUuid, String(change.profileId), String(change.start)));
    case 'mpsDaemon':
      return argv.mpsStart(change.folder);
    case 'container':
    case 'processSession':
      return null;
  }
}

/**
 * The host commands that undo a change that was made. Folders and removals of the MPS daemon and the
 * GPU instance's ids are the caller's to check first (`mpsFolderOk`, the instance's placement).
 */
export function undoCommands(change: Change, gpuUuid: string): HostCommand[] {
  switch (change.kind) {
    case 'persistence':
      return [cmd(argv.persistence(gpuUuid, change.originalEnabled ? '1' : '0'))];
    case 'migMode':
      return [cmd(argv.migMode(gpuUuid, change.originalEnabled ? '1' : '0'))];
    case 'clockLock':
      return [cmd(argv.resetClocks(gpuUuid))];
    case 'memoryClockLock':
      return [cmd(argv.resetMemoryClocks(gpuUuid))];
    case 'powerCap':
      return [cmd(argv.powerLimit(gpuUuid, String(change.originalWatts)))];
    case 'gpuInstance':
      return change.gi === undefined
        ? []
        : [
            cmd(argv.destroyComputeInstances(gpuUuid, String(change.gi))),
            cmd(argv.destroyGpuInstance(gpuUuid, String(change.gi))),
          ];
    case 'mpsDaemon':
      return [argv.mpsQuit(change.folder), cmd(['rm', '-rf', '--', change.folder])];
    case 'container':
    case 'processSession':
      return [];
  }
}

/** Whether an MPS folder is one of ours: directly under the journal's MPS root, named like a session. */
export function mpsFolderOk(folder: string, mpsRoot: string): boolean {
  const name = folder.startsWith(`${mpsRoot}/`) ? folder.slice(mpsRoot.length + 1) : '';
  return SESSION_NAME.test(name) && !name.includes('..');
}

/** The change in the user's words, as the Stop dialog and orphans list it (what was done, or what undoing does). */
export function describeChange(change: Change, undo = false): string {
  switch (change.kind) {
    case 'persistence':
      return undo ? `persistence mode back ${change.originalEnabled ? 'on' : 'off'}` : 'persistence mode on';
    case 'migMode':
      return undo ? `MIG mode back ${change.originalEnabled ? 'on' : 'off'}` : 'MIG mode on';
    case 'clockLock':
      return undo ? 'graphics clocks reset' : `graphics clocks locked at ${change.mhz} MHz`;
    case 'memoryClockLock':
      return undo ? 'memory clocks reset' : `memory clocks locked at ${change.mhz} MHz`;
    case 'powerCap':
      return undo ? `power limit back to ${change.originalWatts} W` : `power capped at ${change.watts} W`;
    case 'gpuInstance':
      return `${change.profile} GPU instance ${change.gi ?? '(being created)'} at slice ${change.start}${undo ? ' destroyed' : ''}`;
    case 'mpsDaemon':
      return undo ? 'MPS daemon stopped and its folder removed' : `MPS daemon on ${change.folder}`;
    case 'container':
      return undo ? `container ${change.name} removed` : `container ${change.name}`;
    case 'processSession':
      return undo
        ? 'session sshd stopped and its folder removed'
        : `session sshd${change.port ? ` on port ${change.port}` : ''} and the disguise in ${change.folder}`;
  }
}
