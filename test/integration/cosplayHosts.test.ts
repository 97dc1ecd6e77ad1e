// Sessions beyond this machine's own user: an SSH host (Docker over the same connection), sudo (root's
// journal, also when stopped without --sudo), calibration, and a terminal in the container.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyCosplay } from '../../src/cosplay/apply';
import { calibrateSession, MAX_CALIBRATION_RUNS } from '../../src/cosplay/calibrate';
import { memoryEfficiencyStore } from '../../src/cosplay/efficiency';
import { HostJournal, ROOT_JOURNAL_DIR } from '../../src/cosplay/hostJournal';
import { listSessions, stopSession, verifyOutput } from '../../src/cosplay/sessions';
import { parseVerifyReport } from '../../src/cosplay/verifyReport';
import { connectDocker, type DockerFailure, sshDockerTarget, type DockerEngine } from '../../src/hosts/docker';
import { LocalRunner } from '../../src/hosts/runner';
import { SshRunner } from '../../src/hosts/sshRunner';
import { repoRoot } from '../unit/fixtures';
import { startDockerd, type Dockerd } from './dockerd';
import { applied, applyRequest, fakeHost, removeContainers, SCENARIO, sessionHost, testProfile } from './fakeHost';
import { startSshd, type Sshd } from './sshd';

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
      label: 'lab',
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
      env: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: local.stateDir, GPUDEV_FAKE_GPU_HOST: '7' },
    });
    runners.push(runner);
    const docker = connectDocker(sshDockerTarget(runner, dockerd.socketPath));
    const { session } = applied(
      await applyCosplay(
        await applyRequest({
          target: 'l4',
          gpu: 6,
          strategy: 'mps',
          image: dockerd.image,
          hostLabel: 'lab',
          host: local,
        }),
        runner,
        docker,
      ),
    );
    const context = await sessionHost(local, docker, runner);
    assert.equal(context.journal.dir, '/root/.local/state/gpudev', "the SSH user's own journal, on that host");
    const verify = parseVerifyReport(await verifyOutput(session, docker, context.journal));
    assert.ok(verify.ok);
    assert.deepEqual(
      verify.report.checks.filter((c) => c.status === 'fail'),
      [],
    );
    assert.equal((await stopSession(session, context)).failure, undefined);
    assert.deepEqual(local.state(), original);
    assert.equal(logins() - loginsBefore, 1, 'host commands and Docker share one SSH connection');
  });

  it('a missing engine on the SSH host is explained', async () => {
    const runner = new SshRunner({
      label: 'lab',
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
    });
    runners.push(runner);
    const docker = connectDocker(sshDockerTarget(runner, '/tmp/gpudev-no-such-docker.sock'));
    await assert.rejects(
      docker.ping(),
      (error: DockerFailure) =>
        /Docker on lab cannot be reached at \/tmp\/gpudev-no-such-docker.sock over SSH/.test(error.failure.message) &&
        /AllowStreamLocalForwarding/.test(error.failure.hint ?? ''),
    );
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
  afterEach(() => removeContainers(docker));

  it('bisects the clock lock until FP32 matches, records it in the host journal, and stop still restores the host', async () => {
    const host = await fakeHost(3);
    const original = host.state();
    const request = await applyRequest({ target: 'rtx3090', gpu: 1, strategy: 'mig', image: dockerd.image, host });
    // The fake torch runs at the clock the fake nvidia-smi reports, as a real GPU would.
    const { session } = applied(
      await applyCosplay(
        { ...request, extraEnv: { ...request.extraEnv, FAKE_TORCH_CLOCK_FROM_SMI: '1' } },
        host.runner,
        docker,
      ),
    );
    assert.equal(session.plan.clockLockMHz, null, 'the MIG plan locks no clock');
    const context = await sessionHost(host, docker);
    const efficiency = memoryEfficiencyStore();
    const outcome = await calibrateSession({ session, efficiency }, context);
    if (!outcome.ok) assert.fail(outcome.error.message);
    assert.match(
      outcome.aimNote ?? '',
      /the host measured \d+% of its modelled peak un-throttled: the host's model is off/,
      "the stand-in's torch runs a MIG slice at a whole H100's rates: aimed at the datasheet",
    );
    assert.ok(outcome.runs.length <= MAX_CALIBRATION_RUNS);
    assert.ok(outcome.withinTolerance && Math.abs(outcome.best.fp32 / 35.6 - 1) <= 0.02, JSON.stringify(outcome.runs));
    const [listed] = (await listSessions(docker, [context.journal])).sessions;
    assert.equal(listed?.containerId, session.containerId, 'the same container: the clock lives in the host journal');
    assert.equal(listed.plan.clockLockMHz, outcome.best.clockMHz);
    assert.ok(listed.changes.includes(`graphics clocks locked at ${outcome.best.clockMHz} MHz`));
    const verify = parseVerifyReport(await verifyOutput(listed, docker, context.journal));
    assert.ok(verify.ok);
    assert.equal(
      verify.report.checks.find((c) => c.id === 'host.clock')?.status,
      'pass',
      'verify checks the calibrated clock',
    );
    assert.equal((await stopSession(listed, context)).failure, undefined);
    assert.deepEqual(host.state(), original);
  });

  it("measures the host's efficiency un-throttled once, then aims at the achievable rate, never above the clock it started from", async () => {
    const host = await fakeHost(6);
    const original = host.state();
    const request = await applyRequest({ target: 'rtx3090', gpu: 2, strategy: 'memory', image: dockerd.image, host });
    const { session } = applied(
      await applyCosplay(
        { ...request, extraEnv: { ...request.extraEnv, FAKE_TORCH_CLOCK_FROM_SMI: '1' } },
        host.runner,
        docker,
      ),
    );
    const capped = host.state();
    const context = await sessionHost(host, docker);
    const efficiency = memoryEfficiencyStore();
    const outcome = await calibrateSession({ session, efficiency }, context);
    if (!outcome.ok) assert.fail(outcome.error.message);
    // Un-throttled, the stand-in's torch does 50 TFLOPS FP32 on a whole H100 whose model says 66.9.
    const [record] = efficiency.records;
    assert.deepEqual([record?.hostModel, record?.driver, record?.torch], ['h100-sxm', '570.133.20', '0.0-fake']);
    assert.ok(Math.abs(record!.efficiency.fp32! - 50 / 66.90816) < 1e-3, JSON.stringify(record));
    assert.ok(Math.abs(outcome.aim - 35.6 * record!.efficiency.fp32!) < 1e-9);
    assert.ok(Math.abs(outcome.best.fp32 / outcome.aim - 1) <= 0.02, JSON.stringify(outcome.runs));
    assert.ok(outcome.runs.every((r) => r.clockMHz <= 1980));
    assert.ok(outcome.best.clockMHz < 1200, 'the throttle the datasheet comparison removed: about 1050 MHz');
    const [listed] = (await listSessions(docker, [context.journal])).sessions;
    assert.equal(listed?.plan.clockLockMHz, outcome.best.clockMHz);
    assert.ok(
      Math.abs(listed.plan.expected[0]!.predicted! - (66.90816 * outcome.best.clockMHz) / 1980) < 1e-6,
      "the plan's prediction follows the clock",
    );
    const powers = (state: Record<string, unknown>) =>
      Object.values(state).map((gpu) => (gpu as { powerLimitW?: number }).powerLimitW);
    assert.deepEqual(powers(host.state()), powers(capped), 'the power cap is back after the un-throttled run');
    const again = await calibrateSession({ session: listed, efficiency }, context);
    if (!again.ok) assert.fail(again.error.message);
    assert.equal(efficiency.records.length, 1, 'measured once per host model, driver and torch');
    assert.ok(
      again.runs.every((r) => r.clockMHz <= outcome.best.clockMHz),
      'never above the clock it started from',
    );
    assert.equal((await stopSession(listed, context)).failure, undefined);
    assert.deepEqual(host.state(), original);
  });

  it('refuses while another session shares the GPU', async () => {
    const host = await fakeHost(4);
    const first = applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 0, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 0, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    const outcome = await calibrateSession({ session: first.session }, await sessionHost(host, docker));
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
    const { session } = applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 3, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    try {
      const terminal = await docker.execTerminal(session.containerId!, ['sh'], 120, 40);
      let output = '';
      terminal.stream.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      terminal.stream.write('nvidia-smi -L; exit 7\n');
      await new Promise<void>((resolve) => terminal.stream.on('end', resolve));
      assert.match(output, /GPU 3: NVIDIA GeForce RTX 3090 \(UUID: GPU-/);
      assert.equal(await terminal.exitCode(), 7);
    } finally {
      await stopSession(session, await sessionHost(host, docker));
    }
  });
});

describe("a session applied with sudo (root's journal in /var/lib/gpudev)", function () {
  this.timeout(120_000);
  let dockerd: Dockerd;
  before(() => {
    const installed = spawnSync('bash', [path.join(repoRoot, 'test/infra/sudo.sh')], { stdio: 'inherit' });
    assert.equal(installed.status, 0, 'sudo could not be installed');
    dockerd = startDockerd();
  });

  it('is stopped with sudo by `gpudev cosplay down` without --sudo; every host command and journal file went through sudo', async () => {
    const host = await fakeHost(9);
    const original = host.state();
    // A sudo that logs each use, then runs the real sudo (root may keep the fake GPU's PATH through env).
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-sudo-bin-'));
    const log = path.join(bin, 'log');
    fs.writeFileSync(
      path.join(bin, 'sudo'),
      `#!/bin/sh\necho "$*" >> ${log}\n[ "$1" = -n ] && shift\nexec /usr/bin/sudo -n env "PATH=$PATH" "GPUDEV_FAKE_SMI_SCENARIO=$GPUDEV_FAKE_SMI_SCENARIO" "GPUDEV_FAKE_GPU_STATE=$GPUDEV_FAKE_GPU_STATE" "GPUDEV_FAKE_GPU_HOST=$GPUDEV_FAKE_GPU_HOST" "$@"\n`,
      { mode: 0o755 },
    );
    const profile = path.join(host.home, 'profile.json');
    fs.writeFileSync(profile, JSON.stringify(testProfile(dockerd.image, host)));
    const env = {
      ...host.env,
      PATH: `${bin}:${host.env.PATH}`,
      DOCKER_HOST: `unix://${dockerd.socketPath}`,
      GPUDEV_TEST_HOST_PROFILE: profile,
    };
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [path.join(repoRoot, 'out/src/cli.js'), 'cosplay', ...args], {
        env,
        cwd: host.home,
        encoding: 'utf8',
      });
    const up = cli(['up', 'rtx3090', '--gpu', '4', '--strategy', 'mps', '--sudo']);
    assert.equal(up.status, 0, up.stderr);
    const name = up.stdout.trim();
    const journal = await HostJournal.open(new LocalRunner(env), true);
    assert.ok(!('message' in journal) && journal.dir === ROOT_JOURNAL_DIR);
    assert.ok(
      fs.readdirSync(ROOT_JOURNAL_DIR).some((f) => f.startsWith('GPU-00000000-fa6e-0009')),
      "recorded in root's journal",
    );
    fs.writeFileSync(log, '');
    const down = cli(['down', name]);
    assert.equal(down.status, 0, down.stderr);
    const used = fs.readFileSync(log, 'utf8');
    assert.match(
      used,
      /^-n nvidia-smi -i GPU-00000000-fa6e-0009-0000-000000000004 -rgc$/m,
      'the restore ran with sudo',
    );
    assert.match(used, /^-n sh -c .* \/var\/lib\/gpudev\/GPU-/m, 'and so did the journal writes');
    assert.deepEqual(host.state(), original);
    assert.ok(
      !fs.readdirSync(ROOT_JOURNAL_DIR).some((f) => f.startsWith('GPU-00000000-fa6e-0009') && f.endsWith('.json')),
    );
  });
});
