// What a cosplay e2e needs of this machine: the test Docker Engine (lab/infra/dockerd.sh) without
// sessions left by an earlier run, a fake GPU whose settings are kept in a folder, and the test host
// profile (no NVIDIA runtime here: the host's /usr in a local image, the fakes on the container's paths).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';
import { openWorkbench } from './workbench.mjs';

/** Runs a lab/infra script; its KEY=VALUE lines. */
export const infra = (script, env = {}, args = []) =>
  Object.fromEntries(
    execFileSync('bash', [path.join(repoRoot, 'lab/infra', script), ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
      .trim()
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => line.split('=', 2)),
  );

/** The fake GPU's kept settings, file by file. */
export const readState = (dir) =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
  );

/** The engine (sessions of earlier runs removed), its DOCKER_HOST environment, and `docker` run against it. */
export function testDocker() {
  const docker = infra('dockerd.sh');
  const env = { ...process.env, DOCKER_HOST: `unix://${docker.DOCKER_SOCKET}` };
  const run = (...args) => execFileSync('docker', args, { env, encoding: 'utf8' }).trim();
  const left = run('ps', '-aq', '--filter', 'label=gpudev.session').split('\n').filter(Boolean);
  if (left.length) run('rm', '-f', ...left);
  return { socket: docker.DOCKER_SOCKET, image: docker.DOCKER_IMAGE, env, run };
}

/** A fake GPU host of `scenario` keeping its settings in `stateDir` (created now), idle, and their state before anything changed. */
export function fakeGpuState(stateDir, scenario) {
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(stateDir, 'processes.json'), '[]'); // an idle GPU host
  execFileSync(path.join(repoRoot, 'lab/fake-gpu/bin/nvidia-smi'), ['--query-gpu=power.limit', '--format=csv'], {
    env: { ...process.env, GPUDEV_FAKE_SMI_SCENARIO: scenario, GPUDEV_FAKE_GPU_STATE: stateDir },
  });
  return readState(stateDir);
}

/** Writes the test host profile (GPUDEV_TEST_HOST_PROFILE) to `file`. */
export function writeHostProfile(file, { image, stateDir, scenario }) {
  fs.writeFileSync(
    file,
    JSON.stringify({
      image,
      gpuRequest: false,
      binds: [
        '/usr:/usr:ro',
        '/lib:/lib:ro',
        '/lib64:/lib64:ro',
        '/bin:/bin:ro',
        `${repoRoot}:${repoRoot}:ro`,
        `${stateDir}:${stateDir}:ro`,
      ],
      env: {
        PATH: path.join(repoRoot, 'lab/fake-gpu/bin'),
        PYTHONPATH: path.join(repoRoot, 'shim/tests/fakes'),
        GPUDEV_FAKE_SMI_SCENARIO: scenario,
        GPUDEV_FAKE_GPU_STATE: stateDir,
        FAKE_TORCH_CLOCK_FROM_SMI: '1',
      },
    }),
  );
  return file;
}

/**
 * This machine as a fake GPU host of `scenario` with the test engine, and code-server opened on it:
 * the GPU's settings folder (made now) and those settings before anything changed, the engine's
 * DOCKER_HOST environment, and `remove()` for the folder and profile once the workbench is closed.
 */
export async function openLocalCosplay(scenario) {
  const docker = testDocker();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-e2e-gpu-state-'));
  const original = fakeGpuState(stateDir, scenario);
  const profile = writeHostProfile(`${stateDir}-profile.json`, { image: docker.image, stateDir, scenario });
  const bench = await openWorkbench({
    scenario,
    settings: { 'gpuDev.monitor.intervalMs': 600000 },
    env: { DOCKER_HOST: `unix://${docker.socket}`, GPUDEV_TEST_HOST_PROFILE: profile, GPUDEV_FAKE_GPU_STATE: stateDir },
  });
  await bench.page.locator('.statusbar-item', { hasText: 'GiB' }).waitFor();
  const remove = () => {
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(profile, { force: true });
  };
  return { bench, stateDir, original, dockerEnv: docker.env, remove };
}
