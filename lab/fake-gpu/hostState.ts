// The fake GPU's settings (clocks, power limit, MIG mode and instances), one JSON file per GPU in the
// folder GPUDEV_FAKE_GPU_STATE, so that tests can assert a host is left exactly as it was found.
// GPUDEV_FAKE_GPU_FAIL (or a file `fail` in the state folder, for a test that cannot change the host's
// environment): a substring of the joined arguments that makes a changing command fail.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MigInstanceState {
  readonly gi: number;
  readonly profileId: number;
  readonly start: number;
  readonly uuid: string;
  computeInstance: boolean;
}

export interface GpuState {
  clocks: string | null;
  memoryClocks: string | null;
  powerLimitW: number;
  migMode: string;
  persistence: string;
  instances: MigInstanceState[];
}

const PROFILE_NAMES: Record<number, string> = {
  19: '1g.10gb',
  20: '1g.10gb+me',
  15: '1g.20gb',
  14: '2g.20gb',
  9: '3g.40gb',
  5: '4g.40gb',
  0: '7g.80gb',
};

export const migProfileName = (profileId: number) => PROFILE_NAMES[profileId] ?? '?';
const SIZES: Record<number, number> = { 19: 1, 20: 1, 15: 2, 14: 2, 9: 4, 5: 4, 0: 8 };
export const migSize = (profileId: number) => SIZES[profileId] ?? 1;

export function stateDir(): string | undefined {
  return process.env.GPUDEV_FAKE_GPU_STATE || undefined;
}

function file(dir: string, gpu: number): string {
  return path.join(dir, `gpu${gpu}.json`);
}

/** The GPU's state, written with the fixture's values the first time it is read. */
export function readState(dir: string, gpu: number, initial: () => GpuState): GpuState {
  try {
    return JSON.parse(fs.readFileSync(file(dir, gpu), 'utf8')) as GpuState;
  } catch {
    const state = initial();
    writeState(dir, gpu, state);
    return state;
  }
}

function writeState(dir: string, gpu: number, state: GpuState): void {
  fs.mkdirSync(dir, { recursive: true });
  const temporary = `${file(dir, gpu)}.${process.pid}`;
  fs.writeFileSync(temporary, JSON.stringify(state, null, 1));
  fs.renameSync(temporary, file(dir, gpu));
}

/** A made-up UUID per GPU (and per fake host, GPUDEV_FAKE_GPU_HOST) where no `-L` fixture was captured. */
export const fakeGpuUuid = (gpu: number) =>
  `GPU-00000000-fa6e-${(process.env.GPUDEV_FAKE_GPU_HOST ?? '0').padStart(4, '0').slice(-4)}-0000-${String(gpu).padStart(12, '0')}`;
const fakeMigUuid = (gpu: number, gi: number) =>
  `MIG-${fakeGpuUuid(gpu).slice(4, 22)}${String(gpu).padStart(2, '0')}${String(gi).padStart(2, '0')}-${String(gi).padStart(12, '0')}`;

export function migListing(state: GpuState): string[] {
  return state.instances
    .filter((i) => i.computeInstance)
    .map(
      (instance, device) =>
        `  MIG ${PROFILE_NAMES[instance.profileId] ?? '?'}     Device  ${device}: (UUID: ${instance.uuid})`,
    );
}

/**
 * Applies a changing command (`-lgc`, `-rgc`, `-lmc`, `-rmc`, `-pl`, `-pm`, `-mig`, `mig -cgi/-dci/-dgi`) to the
 * state; its stdout, or null when the arguments change nothing.
 */
export function mutate(args: readonly string[], gpu: number, state: GpuState): string | null {
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  const failFile = stateDir() && path.join(stateDir()!, 'fail');
  const fail =
    process.env.GPUDEV_FAKE_GPU_FAIL ||
    (failFile && fs.existsSync(failFile) ? fs.readFileSync(failFile, 'utf8').trim() : undefined);
  const changing = ['-lgc', '-rgc', '-lmc', '-rmc', '-pl', '-pm', '-mig', '-cgi', '-dci', '-dgi'].find((flag) =>
    args.includes(flag),
  );
  if (!changing) return null;
  if (fail && args.join(' ').includes(fail)) throw new Error(`Failed (injected by GPUDEV_FAKE_GPU_FAIL=${fail})`);
  const gi = Number(after('-gi'));
  let out = '';
  switch (changing) {
    case '-lgc':
      state.clocks = after('-lgc')!;
      out = `GPU clocks set to "(gpcClkMin ${state.clocks.split(',')[0]}, gpcClkMax ${state.clocks.split(',')[1]})" for GPU ${gpu}.`;
      break;
    case '-rgc':
      state.clocks = null;
      out = `All done.`;
      break;
    case '-lmc':
      state.memoryClocks = after('-lmc')!;
      out = 'Memory clocks set.';
      break;
    case '-rmc':
      state.memoryClocks = null;
      out = 'All done.';
      break;
    case '-pl':
      state.powerLimitW = Number(after('-pl'));
      out = `Power limit for GPU ${gpu} was set to ${state.powerLimitW.toFixed(2)} W from previous power limit.`;
      break;
    case '-pm':
      state.persistence = after('-pm') === '1' ? 'Enabled' : 'Disabled';
      out = `${state.persistence} persistence mode for GPU ${gpu}.\nAll done.`;
      break;
    case '-mig':
      state.migMode = after('-mig') === '1' ? 'Enabled' : 'Disabled';
      out = `${state.migMode} MIG Mode for GPU ${gpu}\nAll done.`;
      break;
    case '-cgi': {
      if (state.migMode !== 'Enabled')
        throw new Error(
          `Unable to create a GPU instance on GPU ${gpu} using profile: Not supported (MIG mode is disabled)`,
        );
      const [profileId, start] = after('-cgi')!.split(':').map(Number) as [number, number];
      const id = Math.max(0, ...state.instances.map((i) => i.gi)) + 1;
      state.instances.push({
        gi: id,
        profileId,
        start,
        uuid: fakeMigUuid(gpu, id),
        computeInstance: args.includes('-C'),
      });
      const name = `MIG ${PROFILE_NAMES[profileId] ?? '?'}`;
      out = `Successfully created GPU instance ID  ${id} on GPU  ${gpu} using profile ${name} (ID ${profileId})`;
      if (args.includes('-C'))
        out += `\nSuccessfully created compute instance ID  0 on GPU  ${gpu} GPU instance ID  ${id} using profile ${name} (ID  0)`;
      break;
    }
    case '-dci': {
      const instance =
        state.instances.find((i) => i.gi === gi && i.computeInstance) ??
        missing(`compute instance in GPU instance ${gi}`);
      instance.computeInstance = false;
      out = `Successfully destroyed compute instance ID  0 from GPU  ${gpu} GPU instance ID  ${gi}`;
      break;
    }
    case '-dgi':
      if (!state.instances.some((i) => i.gi === gi)) missing(`GPU instance ${gi}`);
      state.instances = state.instances.filter((i) => i.gi !== gi);
      out = `Successfully destroyed GPU instance ID  ${gi} from GPU  ${gpu}`;
      break;
  }
  const dir = stateDir();
  if (dir) writeState(dir, gpu, state);
  return `${out}\n`;
}

function missing(what: string): never {
  throw new Error(`Unable to destroy ${what}: Not Found`);
}
