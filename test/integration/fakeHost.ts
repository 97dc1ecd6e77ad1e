// A GPU host for the cosplay tests: this machine with the fake nvidia-smi (and MPS control) first on
// PATH, its GPU settings kept in a folder of JSON files, and the test container profile.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import type { ApplyOutcome, ApplyRequest } from '../../src/cosplay/apply';
import { newSessionName } from '../../src/cosplay/apply';
import type { TestHostProfile } from '../../src/cosplay/hostProfile';
import { shimArchive } from '../../src/cosplay/hostProfile';
import { HostJournal } from '../../src/cosplay/hostJournal';
import { planMultiCosplay } from '../../src/cosplay/multiPlan';
import { planCosplay, type Strategy } from '../../src/cosplay/planner';
import type { SessionHost } from '../../src/cosplay/sessions';
import type { DockerEngine } from '../../src/hosts/docker';
import { LocalRunner, type Runner } from '../../src/hosts/runner';
import { repoRoot } from '../unit/fixtures';
import { tempDir } from '../unit/tempDir';

export const SCENARIO = 'default-h100-x8-570.133.20';
const fakeBin = path.join(repoRoot, 'lab/fake-gpu/bin');

export interface FakeHost {
  readonly id: number;
  readonly runner: LocalRunner;
  readonly stateDir: string;
  /** The host user's home: its cosplay journal is under .local/state/gpudev. */
  readonly home: string;
  /** The environment the host's commands run with (the fake GPU first on PATH). */
  readonly env: NodeJS.ProcessEnv;
  /** Every GPU's settings as the fake keeps them. */
  state(): Record<string, unknown>;
  /** The journal files, by name (none once every session is stopped). */
  journalFiles(): string[];
}

export async function fakeHost(id = 0, scenario = SCENARIO): Promise<FakeHost> {
  const stateDir = tempDir('gpudev-fake-gpu-');
  const home = tempDir('gpudev-fake-home-');
  const env = {
    ...process.env,
    HOME: home,
    PATH: `${fakeBin}:${process.env.PATH}`,
    GPUDEV_FAKE_SMI_SCENARIO: scenario,
    GPUDEV_FAKE_GPU_STATE: stateDir,
    GPUDEV_FAKE_GPU_HOST: String(id),
  };
  const runner = new LocalRunner(env);
  fs.writeFileSync(path.join(stateDir, 'processes.json'), '[]'); // an idle GPU host
  await runner.run(['nvidia-smi', '--query-gpu=power.limit', '--format=csv']); // writes every GPU's initial state
  const state = () =>
    Object.fromEntries(
      fs
        .readdirSync(stateDir)
        .sort()
        .map((f) => [f, JSON.parse(fs.readFileSync(path.join(stateDir, f), 'utf8'))]),
    );
  const journalDir = path.join(home, '.local/state/gpudev');
  const journalFiles = () =>
    fs.existsSync(journalDir)
      ? fs
          .readdirSync(journalDir)
          .filter((f) => f.endsWith('.json'))
          .sort()
      : [];
  return { id, runner, stateDir, home, env, state, journalFiles };
}

/** What stop, clean-up and calibrate take: the host's user journal (no sudo), opened. */
export async function sessionHost(
  host: FakeHost,
  docker: DockerEngine,
  runner: Runner = host.runner,
): Promise<SessionHost> {
  const journal = await HostJournal.open(runner, false);
  if ('message' in journal) throw new Error(journal.message);
  return { runner, docker, journal, owner: 'tester@ci' };
}

/** The host's /usr inside the local image, the fake nvidia-smi (seeing the host's GPU settings) and fake torch on the container's paths. */
export function testProfile(image: string, host?: FakeHost): TestHostProfile {
  return {
    image,
    gpuRequest: false,
    binds: [
      '/usr:/usr:ro',
      '/lib:/lib:ro',
      '/lib64:/lib64:ro',
      '/bin:/bin:ro',
      `${repoRoot}:${repoRoot}:ro`,
      ...(host ? [`${host.stateDir}:${host.stateDir}:ro`] : []),
    ],
    env: {
      PATH: fakeBin,
      PYTHONPATH: path.join(repoRoot, 'shim/tests/fakes'),
      GPUDEV_FAKE_SMI_SCENARIO: SCENARIO,
      ...(host && { GPUDEV_FAKE_GPU_STATE: host.stateDir, GPUDEV_FAKE_GPU_HOST: String(host.id) }),
    },
  };
}

let shim: Buffer | undefined;

function entry(key: string) {
  const found = builtinCatalog().lookup(key);
  if (!found.ok) throw new Error(found.error.message);
  return found.entry;
}

export async function applyRequest(options: {
  target: string;
  gpu: number;
  strategy?: Strategy;
  image: string;
  hostLabel?: string;
  host?: FakeHost;
}): Promise<ApplyRequest> {
  const planned = planCosplay({
    target: entry(options.target),
    host: entry('h100-sxm'),
    hostGpuCount: 8,
    strategy: options.strategy,
  });
  if (!planned.ok) throw new Error(planned.error.message);
  const profile = testProfile(options.image, options.host);
  return {
    plan: planned.plan,
    gpuIndex: options.gpu,
    hostLabel: options.hostLabel ?? 'fake-h100',
    sessionName: newSessionName(options.target, options.gpu),
    owner: 'tester@ci',
    image: profile.image,
    sudo: false,
    shimTar: (shim ??= await shimArchive(repoRoot)),
    gpuRequest: false,
    extraBinds: profile.binds,
    extraEnv: profile.env,
  };
}

/** Test clean-up: every labelled container. */
export async function removeContainers(docker: DockerEngine): Promise<void> {
  for (const container of await docker.list('gpudev.session')) await docker.remove(container.id);
}

export function applied(outcome: ApplyOutcome): Extract<ApplyOutcome, { ok: true }> {
  if (!outcome.ok) assert.fail(`apply failed at "${outcome.failedStep}": ${outcome.error.message}`);
  return outcome;
}

/** An apply request for a session of the fake host's GPUs `indices` (an index twice: two MIG slices of it). */
export async function multiRequest(
  target: string,
  indices: number[],
  strategy: Strategy,
  image: string,
  host: FakeHost,
): Promise<ApplyRequest> {
  const planned = planMultiCosplay(
    { target: entry(target), host: entry('h100-sxm'), hostGpuCount: 8, strategy },
    indices.map((index) => ({ index })),
  );
  if (!planned.ok) throw new Error(planned.error.message);
  const single = await applyRequest({ target, gpu: indices[0]!, strategy, image, host });
  const first = planned.gpus[0]!;
  return {
    ...single,
    plan: first.plan,
    gpuIndex: first.gpuIndex,
    gpus: planned.gpus,
    sessionName: newSessionName(target, indices),
  };
}
