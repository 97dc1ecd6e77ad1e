import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyCosplay } from '../../src/cosplay/apply';
import { calibrateSession } from '../../src/cosplay/calibrate';
import { memoryEfficiencyStore } from '../../src/cosplay/efficiency';
import type { GpuJournal } from '../../src/cosplay/journal';
import { cleanUpOrphans, listSessions, orphansOf, stopSession } from '../../src/cosplay/sessions';
import { connectDocker, type DockerEngine } from '../../src/hosts/docker';
import { startDockerd, type Dockerd } from './dockerd';
import {
  applied,
  applyRequest,
  fakeHost,
  multiRequest,
  removeContainers,
  sessionHost,
  testProfile,
  type FakeHost,
} from './fakeHost';
import { repoRoot } from '../unit/fixtures';
import { failing } from './failing';

/** The built CLI on the fake host (its test container profile), from the host user's home. */
function gpudev(host: FakeHost, dockerd: Dockerd, args: readonly string[]) {
  const profile = path.join(host.home, 'profile.json');
  fs.writeFileSync(profile, JSON.stringify(testProfile(dockerd.image, host)));
  const env = { ...host.env, DOCKER_HOST: `unix://${dockerd.socketPath}`, GPUDEV_TEST_HOST_PROFILE: profile };
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'out/src/cli.js'), 'cosplay', ...args],
      { env, cwd: host.home },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const journalOf = (host: FakeHost, file: string) =>
  JSON.parse(fs.readFileSync(path.join(host.home, '.local/state/gpudev', file), 'utf8')) as GpuJournal;

describe('multi-GPU cosplay sessions with a real Docker Engine', function () {
  this.timeout(300_000);
  let dockerd: Dockerd;
  let docker: DockerEngine;
  let host: FakeHost;

  before(async () => {
    dockerd = startDockerd();
    docker = connectDocker({ kind: 'local', label: 'test dockerd', socketPath: dockerd.socketPath });
    await removeContainers(docker);
  });
  beforeEach(async () => {
    host = await fakeHost();
  });
  afterEach(() => removeContainers(docker));

  it('2× RTX 3090 from two H100s: one container sees 2 target GPUs; each GPU journalled; stop restores both', async () => {
    const original = host.state();
    const request = await multiRequest('rtx3090', [0, 1], 'mps', dockerd.image, host);
    const steps: string[] = [];
    const { session } = applied(await applyCosplay({ ...request, onStep: (s) => steps.push(s) }, host.runner, docker));
    assert.deepEqual(
      steps.filter((s) => s.startsWith('read GPU') || s.startsWith('wait for')),
      ['read GPU 0', 'read GPU 1', "wait for GPU 0's lock on fake-h100", "wait for GPU 1's lock on fake-h100"].filter(
        (s) => s.startsWith('read') || steps.includes(s),
      ),
    );
    assert.ok(steps.includes('GPU 1: lock graphics clocks at 1965 MHz'), steps.join('\n'));
    assert.deepEqual(
      session.gpus?.map((g) => g.index),
      [0, 1],
    );
    const files = host.journalFiles();
    assert.equal(files.length, 2, 'a journal per GPU');
    const journals = files.map((f) => journalOf(host, f));
    for (const journal of journals) {
      assert.deepEqual(
        journal.gpuWide.map((s) => `${s.change.kind}:${s.state}`),
        ['persistence:done', 'clockLock:done', 'powerCap:done'],
      );
      assert.deepEqual(journal.sessions[0]!.plan.gpus, [session.gpuUuid, session.gpus?.[1]?.uuid]);
    }
    const primary = journals.find((j) => j.gpuUuid === session.gpuUuid)!;
    const other = journals.find((j) => j.gpuUuid !== session.gpuUuid)!;
    assert.deepEqual(
      primary.sessions[0]!.steps.map((s) => s.change.kind),
      ['mpsDaemon', 'container'],
      'the first GPU holds the MPS daemon and the container',
    );
    assert.deepEqual(other.sessions[0]!.steps, []);
    const changed = host.state();
    assert.notDeepEqual(changed['gpu0.json'], original['gpu0.json']);
    assert.notDeepEqual(changed['gpu1.json'], original['gpu1.json']);
    assert.deepEqual(changed['gpu2.json'], original['gpu2.json'], 'GPU 2 is not part of it');

    const listed = await docker.exec(session.containerId!, ['sh', '-c', 'nvidia-smi -L; echo "$GPUDEV_GPU_COUNT"']);
    const lines = listed.stdout.trim().split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('GPU ')).map((l) => l.replace(/ \(UUID: .*\)$/, '')),
      ['GPU 0: NVIDIA GeForce RTX 3090', 'GPU 1: NVIDIA GeForce RTX 3090'],
      listed.stdout + listed.stderr,
    );
    assert.equal(lines.at(-1), '2');

    const context = await sessionHost(host, docker);
    const { sessions } = await listSessions(docker, [context.journal]);
    assert.equal(sessions.length, 1, 'one session, not one per GPU');
    const found = sessions[0]!;
    assert.ok(found.running);
    assert.deepEqual(
      found.gpus?.map((g) => g.index),
      [0, 1],
    );
    assert.ok(found.changes.includes('GPU 1: graphics clocks locked at 1965 MHz'), found.changes.join('\n'));
    const stopped = await stopSession(found, context);
    assert.equal(stopped.failure, undefined);
    assert.ok(stopped.undone.includes('GPU 1: power limit back to 700 W'), stopped.undone.join('\n'));
    assert.ok(stopped.undone.includes(`GPU 0: container ${session.name} removed`), stopped.undone.join('\n'));
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
    assert.equal((await docker.list('gpudev.session')).length, 0);
  });

  it('calibrating 2× RTX 3090 locks both GPUs at the clock found on the first, each journalled; stop restores both', async () => {
    const original = host.state();
    const request = await multiRequest('rtx3090', [2, 3], 'memory', dockerd.image, host);
    const extraEnv = { ...request.extraEnv, FAKE_TORCH_CLOCK_FROM_SMI: '1' };
    const { session } = applied(await applyCosplay({ ...request, extraEnv }, host.runner, docker));
    const context = await sessionHost(host, docker);
    const outcome = await calibrateSession({ session, efficiency: memoryEfficiencyStore() }, context);
    if (!outcome.ok) assert.fail(outcome.error.message);
    const best = outcome.best.clockMHz;
    assert.ok(best < 1965, `throttled below the plan's lock: ${best} MHz`);
    const clocks = (file: string) => (host.state()[file] as { clocks?: string }).clocks;
    assert.deepEqual([clocks('gpu2.json'), clocks('gpu3.json')], [`${best},${best}`, `${best},${best}`]);
    for (const file of host.journalFiles()) {
      const journal = journalOf(host, file);
      assert.deepEqual(
        journal.gpuWide.filter((s) => s.change.kind === 'clockLock').map((s) => [s.change, s.state]),
        [[{ kind: 'clockLock', mhz: best }, 'done']],
      );
      assert.equal(journal.sessions[0]!.plan.clockLockMHz, best);
    }
    assert.equal((await stopSession(session, context)).failure, undefined);
    assert.deepEqual(host.state(), original);
  });

  it('two MIG slices of one H100 in one container: both instances made, 2 target GPUs seen; stop destroys both', async () => {
    const original = host.state();
    const request = await multiRequest('rtx3060', [5, 5], 'mig', dockerd.image, host);
    const { session } = applied(await applyCosplay(request, host.runner, docker));
    const devices = session.plan.device?.split(',') ?? [];
    assert.equal(devices.length, 2);
    assert.ok(devices.every((d) => d.startsWith('MIG-')));
    const [file] = host.journalFiles();
    const journal = journalOf(host, file!);
    assert.deepEqual(
      journal.sessions[0]!.steps.map((s) => `${s.change.kind}:${s.state}`),
      ['gpuInstance:done', 'gpuInstance:done', 'container:done'],
    );
    assert.deepEqual(
      journal.gpuWide.map((s) => s.change.kind),
      ['persistence', 'migMode', 'clockLock', 'powerCap'],
      'MIG mode and the GPU-wide settings once',
    );
    const env = await docker.exec(session.containerId!, [
      'sh',
      '-c',
      'echo "$NVIDIA_VISIBLE_DEVICES"; echo "$GPUDEV_GPU_COUNT"; nvidia-smi -L',
    ]);
    const [visible, count, ...listing] = env.stdout.split('\n');
    assert.equal(visible, devices.join(','), "both MIG devices are the container's");
    assert.equal(count, '2');
    assert.deepEqual(
      listing.filter((l) => l.startsWith('GPU ')).map((l) => l.replace(/ \(UUID: .*\)$/, '')),
      ['GPU 0: NVIDIA GeForce RTX 3060', 'GPU 1: NVIDIA GeForce RTX 3060'],
      'the container sees 2 target GPUs, one per slice',
    );

    const stopped = await stopSession(session, await sessionHost(host, docker));
    assert.equal(stopped.failure, undefined);
    assert.equal(stopped.undone.filter((u) => / GPU instance \d+ at slice \d+ destroyed$/.test(u)).length, 2);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
  });

  it('a clash on the second GPU is refused naming that GPU and who holds it, before the first GPU changes', async () => {
    const other = applied(
      await applyCosplay(
        await applyRequest({ target: 'l4', gpu: 3, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    const during = host.state();
    const outcome = await applyCosplay(
      await multiRequest('rtx3090', [2, 3], 'mps', dockerd.image, host),
      host.runner,
      docker,
    );
    assert.ok(!outcome.ok);
    assert.match(
      outcome.error.message,
      new RegExp(`^GPU 3: session "${other.session.name}" \\(tester@ci\\) on this GPU already set`),
    );
    assert.ok(outcome.restored);
    assert.deepEqual(host.state(), during, 'GPU 2 untouched');
  });

  it('two 2-GPU applies at once over the same GPUs in opposite orders both finish (locks in UUID order), sharing them', async () => {
    const original = host.state();
    const requests = [
      await multiRequest('rtx3090', [2, 3], 'mps', dockerd.image, host),
      await multiRequest('rtx3090', [3, 2], 'mps', dockerd.image, host),
    ];
    const outcomes = await Promise.all(requests.map((r) => applyCosplay(r, host.runner, docker)));
    const sessions = outcomes.map((o) => applied(o).session);
    assert.deepEqual(
      sessions.map((s) => s.gpus?.map((g) => g.index)),
      [
        [2, 3],
        [3, 2],
      ],
    );
    const context = await sessionHost(host, docker);
    for (const session of sessions) assert.equal((await stopSession(session, context)).failure, undefined);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
  });

  it('a failure at every step of a 2-GPU apply leaves both GPUs, the journals and Docker as they were', async () => {
    const request = await multiRequest('rtx3090', [6, 7], 'mps', dockerd.image, host);
    const counted = failing(host.runner, docker, 0);
    const first = applied(
      await applyCosplay({ ...request, sessionName: `${request.sessionName}-count` }, counted.runner, counted.docker),
    );
    const total = counted.calls();
    assert.equal((await stopSession(first.session, await sessionHost(host, docker))).failure, undefined);
    const original = host.state();
    for (let k = 1; k <= total; k++) {
      const injected = failing(host.runner, docker, k);
      const outcome = await applyCosplay(
        { ...request, sessionName: `${request.sessionName}-k${k}` },
        injected.runner,
        injected.docker,
      );
      assert.ok(!outcome.ok, `call ${k} of ${total} failed, yet apply succeeded`);
      assert.ok(outcome.restored, `step "${outcome.failedStep}": ${outcome.undoFailures.join('; ')}`);
      assert.deepEqual(host.state(), original, `after a failure at call ${k} ("${outcome.failedStep}")`);
      assert.deepEqual(host.journalFiles(), [], `a journal entry was left after call ${k} ("${outcome.failedStep}")`);
      assert.equal((await docker.list('gpudev.session')).length, 0, `a container was left after call ${k}`);
    }
  });

  it('an orphaned 2-GPU session (its container gone) is listed once and cleaned up on both GPUs', async () => {
    const original = host.state();
    const { session } = applied(
      await applyCosplay(await multiRequest('rtx3090', [4, 5], 'memory', dockerd.image, host), host.runner, docker),
    );
    await docker.remove(session.containerId!);
    const context = await sessionHost(host, docker);
    const orphans = orphansOf(await listSessions(docker, [context.journal]));
    assert.deepEqual(
      orphans.map((o) => [o.name, o.gpus?.map((g) => g.index)]),
      [[session.name, [4, 5]]],
    );
    const { cleaned, failures } = await cleanUpOrphans(orphans, context);
    assert.deepEqual([cleaned, failures], [[session.name], []]);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
  });

  it('gpudev cosplay up --num 2 --gpu 1, list shows GPUs 1,2, down restores both', async () => {
    const original = host.state();
    const up = await gpudev(host, dockerd, ['up', 'rtx3090', '--num', '2', '--gpu', '1', '--strategy', 'mps']);
    assert.equal(up.code, 0, up.stderr);
    const name = up.stdout.trim();
    assert.match(name, /^gpudev-rtx3090-gpu1-2-[0-9a-f]{4}$/);
    assert.match(up.stderr, /… GPU 2: lock graphics clocks at 1965 MHz/);
    const list = await gpudev(host, dockerd, ['list']);
    assert.match(list.stdout, new RegExp(`${name}\\s+NVIDIA GeForce RTX 3090\\s+1,2\\s+`));
    const refused = await gpudev(host, dockerd, ['up', 'rtx3090', '--gpu', '1,1', '--strategy', 'mps']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /GPU 1 is listed 2 times/);
    const down = await gpudev(host, dockerd, ['down', name]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /GPU 2: power limit back to 700 W/);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
  });
});
