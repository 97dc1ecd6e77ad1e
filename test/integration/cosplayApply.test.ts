import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { applyCosplay, type ApplyOutcome, type ApplyRequest } from '../../src/cosplay/apply';
import { calibrateSession, MAX_CALIBRATION_RUNS } from '../../src/cosplay/calibrate';
import { listSessions, stopSession, findOrphans, cleanUpOrphans, MPS_ROOT } from '../../src/cosplay/sessions';
import { parseVerifyReport } from '../../src/cosplay/verifyReport';
import { connectDocker, DockerFailure, sshDockerTarget, type DockerEngine } from '../../src/hosts/docker';
import type { Runner } from '../../src/hosts/runner';
import { SshRunner } from '../../src/hosts/sshRunner';
import { startDockerd, stopDockerd, type Dockerd } from './dockerd';
import { applyRequest, fakeHost, SCENARIO, type FakeHost } from './fakeHost';
import { startSshd, type Sshd } from './sshd';

/** Test clean-up: every session's container and MPS folder (tests that stop their sessions leave none). */
async function removeSessions(docker: DockerEngine): Promise<void> {
  for (const session of (await listSessions(docker)).sessions) {
    await docker.remove(session.containerId);
    fs.rmSync(`${MPS_ROOT}/${session.name}`, { recursive: true, force: true });
  }
}

function applied(outcome: ApplyOutcome): Extract<ApplyOutcome, { ok: true }> {
  if (!outcome.ok) assert.fail(`apply failed at "${outcome.failedStep}": ${outcome.error.message}`);
  return outcome;
}

/** Runner and Docker calls counted together; the `failAt`-th one fails as the real call would. */
function failing(runner: Runner, docker: DockerEngine, failAt: number): { runner: Runner; docker: DockerEngine; calls: () => number } {
  let calls = 0;
  const next = () => ++calls === failAt;
  const wrappedRunner: Runner = {
    label: runner.label,
    run: (argv, options) => (next() ? Promise.resolve({ exitCode: 3, stdout: '', stderr: `injected failure of ${argv.join(' ')}` }) : runner.run(argv, options)),
  };
  const wrappedDocker = Object.fromEntries(Object.entries(docker).map(([key, value]) => [key, typeof value !== 'function' ? value : (...args: unknown[]) => {
    if (key !== 'remove' && key !== 'list' && next()) return Promise.reject(new Error(`injected failure of docker ${key}`));
    return (value as (...a: unknown[]) => unknown)(...args);
  }])) as unknown as DockerEngine;
  return { runner: wrappedRunner, docker: wrappedDocker, calls: () => calls };
}

describe('cosplay sessions with a real Docker Engine', function () {
  this.timeout(120_000);
  let dockerd: Dockerd;
  let docker: DockerEngine;
  let host: FakeHost;

  const removeAll = () => removeSessions(docker);
  before(async () => {
    dockerd = startDockerd();
    docker = connectDocker({ kind: 'local', label: 'test dockerd', socketPath: dockerd.socketPath });
    await removeAll();
  });
  beforeEach(async () => { host = await fakeHost(); });
  afterEach(removeAll);

  it('apply → listed from its labels → verify runs in it → stop restores the host', async () => {
    const original = host.state();
    const request = await applyRequest({ target: 'rtx3090', gpu: 2, strategy: 'mps', image: dockerd.image, host });
    const steps: string[] = [];
    const { session } = applied(await applyCosplay({ ...request, onStep: (s) => steps.push(s) }, host.runner, docker));
    assert.deepEqual(steps.filter((s) => !s.startsWith('pull')), ['read GPU 2', 'check Docker on fake-h100', ...request.plan.mutations.map((m) => m.description), 'create the container', 'copy the shim into the container', 'start the container']);
    assert.notDeepEqual(host.state(), original, 'clocks and power changed while the session runs');
    assert.ok(fs.existsSync(`${MPS_ROOT}/${session.name}/pipe/control`), 'the MPS daemon runs on its own pipe');

    const { sessions } = await listSessions(docker);
    const found = sessions.find((s) => s.name === session.name);
    assert.ok(found?.running);
    assert.equal(found.plan.target, 'rtx3090');
    assert.equal(found.plan.clockLockMHz, 1965);
    assert.deepEqual(found.restore.map((r) => r.description), [
      'cap power at 350 W', 'lock graphics clocks at 1965 MHz', 'start an MPS control daemon with a private pipe directory', 'remove the MPS directories',
      'turn on persistence mode, so these settings hold while no process uses the GPU',
    ]);

    const verify = parseVerifyReport((await docker.exec(found.containerId, ['python3', '/opt/gpudev/shim/verify.py', '--json'])).stdout);
    assert.ok(verify.ok, verify.ok ? '' : verify.error);
    assert.ok(verify.report.checks.length > 10);
    const failed = verify.report.checks.filter((c) => c.status === 'fail');
    assert.deepEqual(failed, [], 'the container sees its GPU with the clocks and power the host was given');
    assert.ok(verify.report.checks.some((c) => c.id === 'host.power' && c.status === 'pass'));

    const stopped = await stopSession(found, host.runner, docker, false);
    assert.deepEqual(stopped, { kept: [], failures: [] });
    assert.deepEqual(host.state(), original);
    assert.ok(!fs.existsSync(`${MPS_ROOT}/${session.name}`));
    assert.equal((await listSessions(docker)).sessions.length, 0);
  });

  it('on a host without the NVIDIA container runtime the product path says so, and restores the host', async () => {
    const original = host.state();
    const steps: string[] = [];
    const request: ApplyRequest = { ...(await applyRequest({ target: 'rtx3090', gpu: 0, strategy: 'mps', image: dockerd.image })), gpuRequest: true, onStep: (s) => steps.push(s) };
    const outcome = await applyCosplay(request, host.runner, docker);
    assert.ok(!outcome.ok);
    assert.equal(outcome.failedStep, 'check that containers can use GPU 0');
    assert.deepEqual(steps, ['read GPU 0', 'check Docker on fake-h100', 'check that containers can use GPU 0'], 'found out before the host changed');
    assert.match(outcome.error.message, /No NVIDIA container runtime on test dockerd/);
    assert.match(outcome.error.hint ?? '', /install NVIDIA Container Toolkit/);
    assert.ok(outcome.restored);
    assert.deepEqual(host.state(), original);
    assert.equal((await listSessions(docker)).sessions.length, 0);
  });

  for (const strategy of ['mps', 'mig'] as const) {
    it(`a failure at every step of a ${strategy} apply leaves the host as it was`, async () => {
      const request = await applyRequest({ target: 'rtx3090', gpu: 1, strategy, image: dockerd.image });
      const counted = failing(host.runner, docker, 0);
      applied(await applyCosplay({ ...request, sessionName: `${request.sessionName}-count` }, counted.runner, counted.docker));
      const total = counted.calls();
      for (const session of (await listSessions(docker)).sessions) await stopSession(session, host.runner, docker, false);
      const original = host.state();
      for (let k = 1; k <= total; k++) {
        const injected = failing(host.runner, docker, k);
        const outcome = await applyCosplay({ ...request, sessionName: `${request.sessionName}-k${k}` }, injected.runner, injected.docker);
        assert.ok(!outcome.ok, `call ${k} of ${total} failed, yet apply succeeded`);
        assert.ok(outcome.restored, `step "${outcome.failedStep}": ${outcome.undoFailures.join('; ')}`);
        assert.deepEqual(host.state(), original, `after a failure at call ${k} ("${outcome.failedStep}")`);
        assert.equal((await listSessions(docker)).sessions.length, 0, `a container was left after call ${k}`);
        assert.ok(!fs.existsSync(`${MPS_ROOT}/${request.sessionName}-k${k}`));
      }
    });
  }

  it('refuses a second session with other clocks on the same GPU, naming the first', async () => {
    const first = applied(await applyCosplay(await applyRequest({ target: 'rtx3090', gpu: 3, strategy: 'mps', image: dockerd.image }), host.runner, docker));
    const during = host.state();
    const outcome = await applyCosplay(await applyRequest({ target: 'l4', gpu: 3, strategy: 'mps', image: dockerd.image }), host.runner, docker);
    assert.ok(!outcome.ok);
    assert.match(outcome.error.message, new RegExp(`session "${first.session.name}" on this GPU already set clocks 1965 MHz / power 350 W`));
    assert.deepEqual(host.state(), during);
    assert.equal((await listSessions(docker)).sessions.length, 1);
  });

  it('a second session with the same settings shares the GPU (also when both apply at once); the last one out restores it', async () => {
    const original = host.state();
    const requests = [await applyRequest({ target: 'rtx3090', gpu: 4, strategy: 'mps', image: dockerd.image }), await applyRequest({ target: 'rtx3090', gpu: 4, strategy: 'mps', image: dockerd.image })];
    const secondSteps: string[] = [];
    const [one, two] = (await Promise.all([
      applyCosplay(requests[0]!, host.runner, docker),
      applyCosplay({ ...requests[1]!, onStep: (step) => secondSteps.push(step) }, host.runner, docker),
    ])).map(applied) as [ReturnType<typeof applied>, ReturnType<typeof applied>];
    assert.ok(!secondSteps.some((step) => /lock graphics clocks|cap power/.test(step)), `the second apply waited for the first and left its GPU-wide settings alone: ${secondSteps.join(', ')}`);
    assert.deepEqual(two.session.restore.filter((r) => r.gpuWide), one.session.restore.filter((r) => r.gpuWide), 'the second carries the first one\'s restore of the GPU-wide settings');
    const during = host.state();
    assert.deepEqual((await stopSession(one.session, host.runner, docker, false)).kept, ['cap power at 350 W', 'lock graphics clocks at 1965 MHz', 'turn on persistence mode, so these settings hold while no process uses the GPU']);
    assert.deepEqual(host.state(), during);
    assert.deepEqual(await stopSession(two.session, host.runner, docker, false), { kept: [], failures: [] });
    assert.deepEqual(host.state(), original);
  });

  it('20 concurrent applies and stops on different GPUs lose nothing', async () => {
    const hosts = [host, await fakeHost(1), await fakeHost(2)];
    const originals = hosts.map((h) => h.state());
    const slots = Array.from({ length: 20 }, (_, i) => ({ host: hosts[i % 3]!, gpu: Math.floor(i / 3) }));
    const outcomes = await Promise.all(slots.map(async (slot) => applyCosplay(await applyRequest({ target: 'rtx3090', gpu: slot.gpu, strategy: 'mps', image: dockerd.image }), slot.host.runner, docker)));
    const sessions = outcomes.map(applied).map((o) => o.session);
    const listed = (await listSessions(docker)).sessions;
    assert.equal(listed.length, 20);
    assert.deepEqual(new Set(listed.map((s) => s.plan.gpuUuid)).size, 20, 'every session on its own GPU');
    const stops = await Promise.all(sessions.map((session, i) => stopSession(session, slots[i]!.host.runner, docker, false)));
    assert.deepEqual(stops.filter((s) => s.failures.length || s.kept.length), []);
    hosts.forEach((h, i) => assert.deepEqual(h.state(), originals[i]));
    assert.equal((await listSessions(docker)).sessions.length, 0);
  });

  it('after dockerd restarts the session is found from its labels, and Clean Up Orphans restores the host', async () => {
    const original = host.state();
    const { session } = applied(await applyCosplay(await applyRequest({ target: 'rtx3090', gpu: 5, strategy: 'mps', image: dockerd.image }), host.runner, docker));
    stopDockerd();
    startDockerd();
    const found = (await listSessions(docker)).sessions.find((s) => s.name === session.name);
    assert.ok(found, 'the session is still known');
    assert.equal(found.plan.clockLockMHz, 1965);
    assert.equal(found.running, false, 'the test engine runs without live-restore: its containers stop with it');
    fs.mkdirSync(`${MPS_ROOT}/gpudev-gone-gpu7-0000/pipe`, { recursive: true });
    const orphans = await findOrphans(docker, host.runner);
    assert.deepEqual(orphans.sessions.map((s) => s.name), [session.name]);
    assert.ok(orphans.mpsFolders.includes('gpudev-gone-gpu7-0000'));
    assert.deepEqual(await cleanUpOrphans(orphans, host.runner, docker, false), []);
    assert.deepEqual(host.state(), original);
    assert.equal((await listSessions(docker)).sessions.length, 0);
    assert.ok(!fs.existsSync(`${MPS_ROOT}/gpudev-gone-gpu7-0000`));
  });
});

describe('cosplay sessions on an SSH host (Docker through the same SSH connection)', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  let dockerd: Dockerd;
  const runners: SshRunner[] = [];
  before(() => {
    sshd = startSshd();
    dockerd = startDockerd();
  });
  after(() => runners.forEach((r) => r.close()));

  it('applies, verifies and stops over one SSH connection, the host restored', async () => {
    const local = await fakeHost(7);
    const original = local.state();
    const logins = () => (fs.readFileSync(`${sshd.dir}/log`, 'utf8').match(/Accepted publickey/g) ?? []).length;
    const loginsBefore = logins();
    const runner = new SshRunner({
      label: 'lab', host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: sshd.clientKey,
      knownHosts: async () => [`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`],
      env: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: local.stateDir, GPUDEV_FAKE_GPU_HOST: '7' },
    });
    runners.push(runner);
    const docker = connectDocker(sshDockerTarget(runner, dockerd.socketPath));
    const { session } = applied(await applyCosplay(await applyRequest({ target: 'l4', gpu: 6, strategy: 'mps', image: dockerd.image, hostLabel: 'lab', host: local }), runner, docker));
    const verify = parseVerifyReport((await docker.exec(session.containerId, ['python3', '/opt/gpudev/shim/verify.py', '--json'])).stdout);
    assert.ok(verify.ok);
    assert.deepEqual(verify.report.checks.filter((c) => c.status === 'fail'), []);
    assert.deepEqual(await stopSession(session, runner, docker, false), { kept: [], failures: [] });
    assert.deepEqual(local.state(), original);
    assert.equal(logins() - loginsBefore, 1, 'host commands and Docker share one SSH connection');
  });

  it('a missing engine on the SSH host is explained', async () => {
    const runner = new SshRunner({ label: 'lab', host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: sshd.clientKey, knownHosts: async () => [`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`] });
    runners.push(runner);
    const docker = connectDocker(sshDockerTarget(runner, '/tmp/gpudev-no-such-docker.sock'));
    await assert.rejects(docker.ping(), (error: DockerFailure) => /Docker on lab cannot be reached at \/tmp\/gpudev-no-such-docker.sock over SSH/.test(error.failure.message) && /AllowStreamLocalForwarding/.test(error.failure.hint ?? ''));
  });
});

describe('calibrating a session against a real Docker Engine', function () {
  this.timeout(120_000);
  let dockerd: Dockerd;
  let docker: DockerEngine;
  before(() => {
    dockerd = startDockerd();
    docker = connectDocker({ kind: 'local', label: 'test dockerd', socketPath: dockerd.socketPath });
  });
  afterEach(() => removeSessions(docker));

  it('bisects the clock lock until FP32 matches, records it in the labels, and stop still restores the host', async () => {
    const host = await fakeHost(3);
    const original = host.state();
    const request = await applyRequest({ target: 'rtx3090', gpu: 1, strategy: 'mig', image: dockerd.image, host });
    // The fake torch runs at the clock the fake nvidia-smi reports, as a real GPU would.
    const { session } = applied(await applyCosplay({ ...request, extraEnv: { ...request.extraEnv, FAKE_TORCH_CLOCK_FROM_SMI: '1' } }, host.runner, docker));
    assert.equal(session.plan.clockLockMHz, null, 'the MIG plan locks no clock');
    const outcome = await calibrateSession({ session, sudo: false, shimTar: request.shimTar }, host.runner, docker);
    if (!outcome.ok) assert.fail(outcome.error.message);
    assert.ok(outcome.runs.length <= MAX_CALIBRATION_RUNS);
    assert.ok(outcome.withinTolerance && Math.abs(outcome.best.fp32 / 35.6 - 1) <= 0.02, JSON.stringify(outcome.runs));
    const [listed] = (await listSessions(docker)).sessions;
    assert.equal(listed?.name, session.name, 'the same session, its container made again');
    assert.equal(listed.plan.clockLockMHz, outcome.best.clockMHz);
    assert.equal(listed.restore[0]?.description, 'reset graphics clocks');
    const verify = parseVerifyReport((await docker.exec(listed.containerId, ['python3', '/opt/gpudev/shim/verify.py', '--json'])).stdout);
    assert.ok(verify.ok);
    assert.equal(verify.report.checks.find((c) => c.id === 'host.clock')?.status, 'pass', 'verify now expects the calibrated clock');
    assert.deepEqual(await stopSession(listed, host.runner, docker, false), { kept: [], failures: [] });
    assert.deepEqual(host.state(), original);
  });

  it('refuses while another session shares the GPU', async () => {
    const host = await fakeHost(4);
    const first = applied(await applyCosplay(await applyRequest({ target: 'rtx3090', gpu: 0, strategy: 'mps', image: dockerd.image, host }), host.runner, docker));
    applied(await applyCosplay(await applyRequest({ target: 'rtx3090', gpu: 0, strategy: 'mps', image: dockerd.image, host }), host.runner, docker));
    const outcome = await calibrateSession({ session: first.session, sudo: false, shimTar: Buffer.alloc(0) }, host.runner, docker);
    assert.ok(!outcome.ok);
    assert.match(outcome.error.message, /shares this GPU: its clocks would change too/);
  });
});

describe('a terminal in a session (docker exec with a TTY)', function () {
  this.timeout(60_000);
  it('runs an interactive shell in the container, with the shim first on PATH', async () => {
    const dockerd = startDockerd();
    const docker = connectDocker({ kind: 'local', label: 'test dockerd', socketPath: dockerd.socketPath });
    const host = await fakeHost(5);
    const { session } = applied(await applyCosplay(await applyRequest({ target: 'rtx3090', gpu: 3, strategy: 'mps', image: dockerd.image, host }), host.runner, docker));
    try {
      const terminal = await docker.execTerminal(session.containerId, ['sh'], 120, 40);
      let output = '';
      terminal.stream.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
      terminal.stream.write('nvidia-smi -L; exit 7\n');
      await new Promise<void>((resolve) => terminal.stream.on('end', resolve));
      assert.match(output, /GPU 3: NVIDIA GeForce RTX 3090 \(UUID: GPU-/);
      assert.equal(await terminal.exitCode(), 7);
    } finally {
      await stopSession(session, host.runner, docker, false);
    }
  });
});
