import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyCosplay } from '../../src/cosplay/apply';
import type { GpuJournal } from '../../src/cosplay/journal';
import { listSessions, stopSession, verifyOutput } from '../../src/cosplay/sessions';
import { parseVerifyReport } from '../../src/cosplay/verifyReport';
import { connectDocker, type DockerEngine } from '../../src/hosts/docker';
import { startDockerd, type Dockerd } from './dockerd';
import { applied, applyRequest, fakeHost, removeContainers, sessionHost, type FakeHost } from './fakeHost';
import { failing } from './failing';

const journalDir = (host: FakeHost) => path.join(host.home, '.local/state/gpudev');

describe('cosplay sessions with a real Docker Engine and the host journal', function () {
  this.timeout(180_000);
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

  it('apply journals each change before making it → verify in the container → stop restores the host and empties the journal', async () => {
    const original = host.state();
    const request = await applyRequest({ target: 'rtx3090', gpu: 2, strategy: 'mps', image: dockerd.image, host });
    const steps: string[] = [];
    const { session } = applied(await applyCosplay({ ...request, onStep: (s) => steps.push(s) }, host.runner, docker));
    assert.deepEqual(
      steps.filter((s) => !s.startsWith('pull')),
      [
        'read GPU 2',
        'check Docker on fake-h100',
        "wait for GPU 2's lock on fake-h100",
        ...request.plan.mutations.map((m) => m.description),
        'create the container',
        'copy the shim into the container',
        'start the container',
        'compile the shim',
      ],
    );
    assert.notDeepEqual(host.state(), original, 'clocks and power changed while the session runs');
    const dir = journalDir(host);
    assert.equal((fs.statSync(dir).mode & 0o777).toString(8), '700', "the journal folder is the user's alone");
    const [file] = host.journalFiles();
    const journal = JSON.parse(fs.readFileSync(path.join(dir, file!), 'utf8')) as GpuJournal;
    assert.equal(journal.gpuUuid, session.gpuUuid);
    assert.deepEqual(
      journal.gpuWide.map((s) => `${s.change.kind}:${s.state}`),
      ['persistence:done', 'clockLock:done', 'powerCap:done'],
    );
    assert.equal(
      (journal.gpuWide[2]?.change as { originalWatts?: number }).originalWatts,
      700,
      'the original power limit, read just before',
    );
    assert.deepEqual(
      journal.sessions[0]!.steps.map((s) => s.change.kind),
      ['mpsDaemon', 'container'],
    );
    assert.ok(
      fs.existsSync(`${dir}/mps/${session.name}/pipe/control`),
      'the MPS daemon runs on its own pipe, under the journal folder',
    );

    const { sessions, foreign } = await listSessions(docker, [(await sessionHost(host, docker)).journal]);
    assert.deepEqual(foreign, []);
    const found = sessions.find((s) => s.name === session.name)!;
    assert.ok(found.running);
    assert.equal(found.owner, 'tester@ci');
    assert.deepEqual(found.changes, [
      'persistence mode on',
      'graphics clocks locked at 1965 MHz',
      'power capped at 350 W',
      `MPS daemon on ${dir}/mps/${session.name}`,
      `container ${session.name}`,
    ]);

    const context = await sessionHost(host, docker);
    const verify = parseVerifyReport(await verifyOutput(found, docker, context.journal));
    assert.ok(verify.ok, verify.ok ? '' : verify.error);
    assert.deepEqual(
      verify.report.checks.filter((c) => c.status === 'fail'),
      [],
      'the container sees its GPU with the clocks and power the host was given',
    );

    const stopped = await stopSession(found, context);
    assert.equal(stopped.failure, undefined);
    assert.deepEqual(stopped.undone, [
      'MPS daemon stopped and its folder removed',
      'power limit back to 700 W',
      'graphics clocks reset',
      'persistence mode back on',
      `container ${session.name} removed`,
    ]);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), [], 'nothing left to undo');
    assert.ok(!fs.existsSync(`${dir}/mps/${session.name}`));
    assert.equal((await docker.list('gpudev.session')).length, 0);
  });

  it('on a host without the NVIDIA container runtime the product path says so before any pull or host change', async () => {
    const original = host.state();
    const steps: string[] = [];
    const request = {
      ...(await applyRequest({ target: 'rtx3090', gpu: 0, strategy: 'mps', image: 'gpudev-test/not-pulled:1' })),
      gpuRequest: true,
      onStep: (s: string) => steps.push(s),
    };
    const outcome = await applyCosplay(request, host.runner, docker);
    assert.ok(!outcome.ok);
    assert.deepEqual(steps, ['read GPU 0', 'check Docker on fake-h100'], 'refused before the image is pulled');
    assert.match(
      outcome.error.message,
      /No NVIDIA container runtime on test dockerd: Docker there lists the runtimes .*runc/,
    );
    assert.match(outcome.error.hint ?? '', /nvidia-ctk runtime configure/);
    assert.ok(outcome.restored);
    assert.deepEqual(host.state(), original);
  });

  it('a pull that cannot reach a registry is one sentence with the image name', async () => {
    const request = await applyRequest({
      target: 'rtx3090',
      gpu: 0,
      strategy: 'mps',
      image: 'registry.invalid/gpudev/none:1',
    });
    const outcome = await applyCosplay({ ...request, image: 'registry.invalid/gpudev/none:1' }, host.runner, docker);
    assert.ok(!outcome.ok);
    assert.equal(outcome.failedStep, 'pull registry.invalid/gpudev/none:1');
    assert.match(outcome.error.message, /^Docker on test dockerd could not pull registry.invalid\/gpudev\/none:1: /);
    assert.doesNotMatch(outcome.error.message, /\n/);
  });

  for (const strategy of ['mps', 'mig'] as const) {
    it(`a failure at every step of a ${strategy} apply leaves the host, the journal and Docker as they were`, async () => {
      const request = await applyRequest({ target: 'rtx3090', gpu: 1, strategy, image: dockerd.image, host });
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
        assert.deepEqual(fs.readdirSync(`${journalDir(host)}/mps`), [], `an MPS folder was left after call ${k}`);
      }
    });
  }

  it('a second session with other GPU-wide settings is refused, naming the first and its owner', async () => {
    const first = applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 3, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    const during = host.state();
    const outcome = await applyCosplay(
      await applyRequest({ target: 'l4', gpu: 3, strategy: 'mps', image: dockerd.image, host }),
      host.runner,
      docker,
    );
    assert.ok(!outcome.ok);
    assert.match(
      outcome.error.message,
      new RegExp(
        `session "${first.session.name}" \\(tester@ci\\) on this GPU already set no MIG, clocks 1965 MHz, power 350 W; this cosplay needs no MIG, clocks 1935 MHz, power 200 W`,
      ),
    );
    assert.deepEqual(host.state(), during);
  });

  it('a second session with the same settings shares the GPU (both applied at once); the last one out restores it', async () => {
    const original = host.state();
    const requests = [
      await applyRequest({ target: 'rtx3090', gpu: 4, strategy: 'mps', image: dockerd.image, host }),
      await applyRequest({ target: 'rtx3090', gpu: 4, strategy: 'mps', image: dockerd.image, host }),
    ];
    const [one, two] = (await Promise.all(requests.map((r) => applyCosplay(r, host.runner, docker)))).map(applied) as [
      ReturnType<typeof applied>,
      ReturnType<typeof applied>,
    ];
    const journal = JSON.parse(
      fs.readFileSync(path.join(journalDir(host), host.journalFiles()[0]!), 'utf8'),
    ) as GpuJournal;
    assert.equal(journal.sessions.length, 2);
    assert.equal(
      journal.gpuWide.filter((s) => s.change.kind === 'powerCap').length,
      1,
      'the second made no GPU-wide change of its own',
    );
    assert.equal(
      (journal.gpuWide.find((s) => s.change.kind === 'powerCap')?.change as { originalWatts?: number }).originalWatts,
      700,
      'and the original is the true one',
    );
    const during = host.state();
    const context = await sessionHost(host, docker);
    assert.deepEqual((await stopSession(one.session, context)).kept, [
      'persistence mode on',
      'graphics clocks locked at 1965 MHz',
      'power capped at 350 W',
    ]);
    assert.deepEqual(host.state(), during);
    assert.equal((await stopSession(two.session, context)).failure, undefined);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
  });

  it('20 concurrent applies and stops on different GPUs lose nothing', async () => {
    const hosts = [host, await fakeHost(1), await fakeHost(2)];
    const originals = hosts.map((h) => h.state());
    const slots = Array.from({ length: 20 }, (_, i) => ({ host: hosts[i % 3]!, gpu: Math.floor(i / 3) }));
    const outcomes = await Promise.all(
      slots.map(async (slot) =>
        applyCosplay(
          await applyRequest({
            target: 'rtx3090',
            gpu: slot.gpu,
            strategy: 'mps',
            image: dockerd.image,
            host: slot.host,
          }),
          slot.host.runner,
          docker,
        ),
      ),
    );
    const sessions = outcomes.map(applied).map((o) => o.session);
    assert.equal(new Set(sessions.map((s) => s.gpuUuid)).size, 20, 'every session on its own GPU');
    const stops = await Promise.all(
      sessions.map(async (session, i) => stopSession(session, await sessionHost(slots[i]!.host, docker))),
    );
    assert.deepEqual(
      stops.filter((s) => s.failure || s.kept.length),
      [],
    );
    hosts.forEach((h, i) => assert.deepEqual(h.state(), originals[i]));
    assert.equal((await docker.list('gpudev.session')).length, 0);
  });

  it('an image whose own entrypoint exits at once still runs (ours replaces it); a container that cannot stay up fails the apply, rolled back', async () => {
    const env = { ...process.env, DOCKER_HOST: `unix://${dockerd.socketPath}` };
    const tar = path.join(path.dirname(dockerd.socketPath), 'empty.tar');
    execFileSync('docker', ['import', '--change', 'ENTRYPOINT ["/bin/false"]', tar, 'gpudev-test/exits:1'], {
      env,
      stdio: 'ignore',
    });
    const original = host.state();
    const request = await applyRequest({
      target: 'rtx3090',
      gpu: 5,
      strategy: 'mps',
      image: 'gpudev-test/exits:1',
      host,
    });
    const { session } = applied(await applyCosplay(request, host.runner, docker));
    assert.equal((await stopSession(session, await sessionHost(host, docker))).failure, undefined);
    // Without the host's /bin, the image has no `sleep`: the container exits at once.
    const bare = {
      ...request,
      sessionName: `${request.sessionName}-bare`,
      extraBinds: request.extraBinds!.filter((b) => !b.startsWith('/bin:') && !b.startsWith('/usr:')),
    };
    const outcome = await applyCosplay(bare, host.runner, docker);
    assert.ok(!outcome.ok);
    assert.equal(outcome.failedStep, 'start the container');
    assert.ok(outcome.restored, outcome.undoFailures.join('; '));
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
    assert.equal((await docker.list('gpudev.session')).length, 0);
  });

  it("another user's process on the GPU: MIG mode, clock and power changes are refused naming its pid and owner, unless confirmed", async () => {
    const sleeper = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'sleep', '60'], {
      stdio: 'ignore',
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      fs.writeFileSync(
        path.join(host.stateDir, 'processes.json'),
        JSON.stringify([{ gpu: 6, pid: sleeper.pid, name: 'python3', memoryMiB: 11776 }]),
      );
      const original = host.state();
      const request = await applyRequest({ target: 'rtx3090', gpu: 6, strategy: 'mig', image: dockerd.image, host });
      const refused = await applyCosplay(request, host.runner, docker);
      assert.ok(!refused.ok);
      assert.match(
        refused.error.message,
        new RegExp(`GPU 6 has processes of other users: ${sleeper.pid} \\(nobody, python3\\)`),
      );
      assert.deepEqual(host.state(), original);
      assert.deepEqual(host.journalFiles(), []);
      const asked: number[] = [];
      const { session } = applied(
        await applyCosplay(
          { ...request, confirmBusy: (p) => (asked.push(...p.map((x) => x.pid)), Promise.resolve(true)) },
          host.runner,
          docker,
        ),
      );
      assert.deepEqual(asked, [sleeper.pid]);
      assert.equal((await stopSession(session, await sessionHost(host, docker))).failure, undefined);
      assert.deepEqual(host.state(), original);
    } finally {
      sleeper.kill();
    }
  });
});
