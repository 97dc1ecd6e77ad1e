// `gpudev lab up|status|down`: a demo lab on this machine for trying the product without a GPU. Fake GPUs
// (lab/fake-gpu replaying a verbatim 8×H100 table) behind a loopback sshd as SSH host `lab`, a Docker
// Engine of its own with a local image, and a one-node Slurm cluster `lab-slurm` with typed GRES, each
// started by the same lab/infra scripts the tests use, and only where it can run.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  LAB_CLUSTER,
  LAB_HOST,
  LAB_SCENARIO,
  labSshPort,
  readLabState,
  running,
  writeLabState,
  type LabState,
} from './labState';
import { labGuide, labSettings } from './labWorkspace';
import type { TestHostProfile } from '../cosplay/hostProfile';
import { forgetLabSsh, labAliasTaken, pinLabSsh } from './labSsh';

export interface LabIo {
  /** A progress line for the user. */
  say(text: string): void;
}

type ScriptResult = { ok: true; values: Record<string, string> } | { ok: false };

/** Runs a lab/infra script; its own messages (installs, failures) go straight to the user's stderr. */
function runScript(
  root: string,
  name: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(root, 'lab/infra', name), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', () => resolve({ ok: false }));
    child.on('close', (code) => {
      if (code !== 0) return resolve({ ok: false });
      const pairs = out.split('\n').filter((line) => /^[A-Z_]+=/.test(line));
      resolve({ ok: true, values: Object.fromEntries(pairs.map((line) => line.split('=', 2) as [string, string])) });
    });
  });
}

const readPid = (file: string) =>
  fs.readFile(file, 'utf8').then(
    (text) => Number(text.trim()) || 0,
    () => 0,
  );
const isRoot = () => process.getuid?.() === 0;
const sshdEnv = (dir: string, root: string) => ({
  GPUDEV_SSHD_DIR: path.join(dir, 'sshd'),
  GPUDEV_SSHD_PORT: String(labSshPort()),
  GPUDEV_SSHD_FAKE_BIN: path.join(root, 'lab/fake-gpu/bin'),
  GPUDEV_SSHD_GPU_STATE: path.join(dir, 'gpus'),
});
const dockerEnv = (dir: string) => ({ GPUDEV_DOCKERD_DIR: path.join(dir, 'docker') });

function slurmctldRunning(): boolean {
  try {
    execFileSync('pgrep', ['-x', 'slurmctld'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts what is not running yet (again after a reboot) and writes the state, LAB.md and the settings. */
export async function labUp(root: string, dir: string, io: LabIo): Promise<LabState | string> {
  const before = await readLabState(dir);
  if (typeof before === 'string') return before;
  const missing: string[] = [];
  const needsRoot = (what: string, packages: string) =>
    `${what}: needs root to install and start (sudo apt-get install -y ${packages}, then sudo gpudev lab up)`;

  if (!before && (await labAliasTaken(LAB_HOST)))
    return `your ssh config already has a Host ${LAB_HOST}: the lab would shadow it`;
  io.say(`starting the SSH host ${LAB_HOST} (loopback sshd on port ${labSshPort()}, eight fake H100 GPUs)…`);
  const sshd = await runScript(root, 'sshd.sh', sshdEnv(dir, root));
  if (!sshd.ok) return `the SSH host ${LAB_HOST} did not start (above: the sshd script's own message)`;

  let docker: LabState['docker'] = null;
  if (isRoot()) {
    io.say('starting the lab’s own Docker Engine (its own socket; no network or storage changes)…');
    const started = await runScript(root, 'dockerd.sh', dockerEnv(dir));
    if (started.ok)
      docker = {
        dir: path.join(dir, 'docker'),
        socket: started.values.DOCKER_SOCKET!,
        image: started.values.DOCKER_IMAGE!,
        pid: await readPid(path.join(dir, 'docker/dockerd.pid')),
      };
    else missing.push('Docker Engine: did not start (its message is above); cosplay plans work, Apply does not');
  } else missing.push(`${needsRoot('Docker Engine', 'docker.io')}; cosplay plans work without it, Apply does not`);

  let slurm: LabState['slurm'] = before?.slurm ?? null;
  if (isRoot()) {
    const startedByLab = slurm?.startedByLab ?? !slurmctldRunning();
    io.say(`starting the Slurm cluster ${LAB_CLUSTER} (one node, GPUs of types h100, a100 and l4)…`);
    const started = await runScript(root, 'slurm.sh', {});
    slurm = started.ok ? { dir: started.values.SLURM_DIR!, node: started.values.SLURM_NODE!, startedByLab } : null;
    if (!slurm)
      missing.push(`Slurm cluster ${LAB_CLUSTER}: did not start (its message is above); reservations need it`);
  } else if (!slurm)
    missing.push(`${needsRoot(`Slurm cluster ${LAB_CLUSTER}`, 'slurm-wlm munge')}; reservations need it`);

  const sshdDir = path.join(dir, 'sshd');
  const pinned = await pinLabSsh(sshdDir, labSshPort(), sshd.values.SSHD_USER!, [LAB_HOST, LAB_CLUSTER]);
  const state: LabState = {
    version: 1,
    root,
    sshd: {
      dir: sshdDir,
      port: labSshPort(),
      user: sshd.values.SSHD_USER!,
      pid: await readPid(path.join(sshdDir, 'sshd.pid')),
    },
    docker,
    slurm,
    sshConfigFile: pinned.configFile,
    knownHostsLine: pinned.knownHostsLine,
    addedInclude: before?.addedInclude || pinned.addedInclude,
    createdUserConfig: before?.createdUserConfig || pinned.createdUserConfig,
    missing,
  };
  await writeLabState(dir, state);
  await writeLabFiles(dir, state);
  return state;
}

/**
 * `<lab>/workspace/LAB.md`, `<lab>/settings.json` (what `npm start -- --lab` puts in User settings) and,
 * with the engine up, `<lab>/host-profile.json`: how cosplay containers are made on the lab's fake GPUs
 * (GPUDEV_TEST_HOST_PROFILE; src/cosplay/hostProfile.ts), which `npm start -- --lab` sets.
 */
async function writeLabFiles(dir: string, state: LabState): Promise<void> {
  await fs.mkdir(path.join(dir, 'workspace'), { recursive: true });
  await fs.writeFile(path.join(dir, 'workspace/LAB.md'), labGuide(state));
  await fs.writeFile(path.join(dir, 'settings.json'), `${JSON.stringify(labSettings(state), null, 2)}\n`);
  if (!state.docker) return;
  const gpus = path.join(dir, 'gpus');
  await fs.mkdir(gpus, { recursive: true });
  const fakeTorch = path.join(state.root, 'shim/tests/fakes');
  const profile: TestHostProfile = {
    image: state.docker.image,
    gpuRequest: false,
    binds: ['/usr', '/lib', '/lib64', '/bin', state.root, gpus].map((folder) => `${folder}:${folder}:ro`),
    env: {
      PATH: path.join(state.root, 'lab/fake-gpu/bin'),
      ...(existsSync(fakeTorch) && { PYTHONPATH: fakeTorch, FAKE_TORCH_CLOCK_FROM_SMI: '1' }),
      GPUDEV_FAKE_SMI_SCENARIO: LAB_SCENARIO,
      GPUDEV_FAKE_GPU_STATE: gpus,
    },
  };
  await fs.writeFile(path.join(dir, 'host-profile.json'), `${JSON.stringify(profile, null, 2)}\n`);
}

export interface LabPartStatus {
  readonly part: string;
  /** null: not started, for the reason in `detail`. */
  readonly running: boolean | null;
  readonly detail: string;
}

/** Each part of the lab, running or not; undefined when no lab is up. */
export async function labStatus(dir: string): Promise<LabPartStatus[] | undefined | string> {
  const state = await readLabState(dir);
  if (typeof state !== 'object') return state;
  const parts: LabPartStatus[] = [];
  if (state.sshd)
    parts.push({
      part: `SSH host ${LAB_HOST}`,
      running: running(state.sshd.pid),
      detail: `${state.sshd.user}@127.0.0.1:${state.sshd.port}, pid ${state.sshd.pid}`,
    });
  if (state.docker)
    parts.push({
      part: 'Docker Engine',
      running: running(state.docker.pid),
      detail: `${state.docker.socket}, pid ${state.docker.pid}`,
    });
  if (state.slurm)
    parts.push({
      part: `Slurm cluster ${LAB_CLUSTER}`,
      running: slurmctldRunning(),
      detail: `node ${state.slurm.node}${state.slurm.startedByLab ? '' : ' (was running before the lab; down leaves it)'}`,
    });
  for (const sentence of state.missing) {
    const colon = sentence.indexOf(': ');
    parts.push({ part: sentence.slice(0, colon), running: null, detail: sentence.slice(colon + 2) });
  }
  return parts;
}

/** Stops what `up` started, forgets the ssh entries and removes the lab's folder; false when no lab was up. */
export async function labDown(dir: string, io: LabIo): Promise<boolean | string> {
  const state = await readLabState(dir);
  if (typeof state === 'string') return state;
  if (!state) return false;
  if (state.sshd) {
    io.say(`stopping the SSH host ${LAB_HOST}…`);
    await runScript(state.root, 'sshd.sh', sshdEnv(dir, state.root), ['stop']);
  }
  if (state.docker) {
    io.say('stopping the lab’s Docker Engine…');
    await runScript(state.root, 'dockerd.sh', dockerEnv(dir), ['stop']);
  }
  if (state.slurm?.startedByLab) {
    io.say(`stopping the Slurm cluster ${LAB_CLUSTER}…`);
    await runScript(state.root, 'slurm.sh', {}, ['stop']);
  }
  await forgetLabSsh(state, [LAB_HOST, LAB_CLUSTER]);
  await fs.rm(dir, { recursive: true, force: true });
  return true;
}
