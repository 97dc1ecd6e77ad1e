// Crashes, failed restores, restarted engines, forged containers and unsafe journal folders: what the
// host journal and lock are for. The CLI runs as its own process (out/src/cli.js), killed where it hurts.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyCosplay } from '../../src/cosplay/apply';
import type { GpuJournal } from '../../src/cosplay/journal';
import { HostJournal } from '../../src/cosplay/hostJournal';
import { cleanUpOrphans, listSessions, orphansOf, stopSession } from '../../src/cosplay/sessions';
import { connectDocker, type DockerEngine } from '../../src/hosts/docker';
import { LocalRunner } from '../../src/hosts/runner';
import { repoRoot } from '../unit/fixtures';
import { startDockerd, stopDockerd, type Dockerd } from './dockerd';
import { applied, applyRequest, fakeHost, removeContainers, sessionHost, testProfile, type FakeHost } from './fakeHost';
import { tempDir } from '../unit/tempDir';

const cli = path.join(repoRoot, 'out/src/cli.js');

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI against the fake host and the test engine; `killAtStep` SIGKILLs it (and its children) when it starts that step. */
function gpudev(host: FakeHost, dockerd: Dockerd, args: readonly string[], killAtStep?: number): Promise<CliRun> {
  const profile = path.join(host.home, 'profile.json');
  if (!fs.existsSync(profile)) fs.writeFileSync(profile, JSON.stringify(testProfile(dockerd.image, host)));
  const env = { ...host.env, DOCKER_HOST: `unix://${dockerd.socketPath}`, GPUDEV_TEST_HOST_PROFILE: profile };
  return new Promise((resolve) => {
    // Run from the host user's home: the CLI mounts its working folder, which then holds the journal (masked in the container).
    const child = spawn(process.execPath, [cli, 'cosplay', ...args], {
      env,
      cwd: host.home,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (killAtStep !== undefined && (stderr.match(/^… /gm) ?? []).length >= killAtStep)
        process.kill(-child.pid!, 'SIGKILL');
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const steps = (run: CliRun) => run.stderr.split('\n').filter((line) => line.startsWith('… ')).length;
const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe('cosplay recovery: the host journal after crashes, failures and forgeries', function () {
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
    host = await fakeHost(8);
  });
  afterEach(() => removeContainers(docker));

  for (const strategy of ['mps', 'mig'] as const) {
    it(`SIGKILL of the CLI at each step of a ${strategy} apply: orphans lists it, cleanup restores the host exactly`, async () => {
      const original = host.state();
      const full = await gpudev(host, dockerd, ['up', 'rtx3090', '--gpu', '1', '--strategy', strategy]);
      assert.equal(full.code, 0, full.stderr);
      const total = steps(full);
      assert.equal((await gpudev(host, dockerd, ['down', full.stdout.trim()])).code, 0);
      assert.deepEqual(host.state(), original);
      for (let k = 1; k <= total; k++) {
        const killed = await gpudev(host, dockerd, ['up', 'rtx3090', '--gpu', '1', '--strategy', strategy], k);
        assert.equal(killed.code, null, `killed at step ${k}`);
        await settle(); // a Docker call in flight when the CLI died still completes in the engine
        const orphans = JSON.parse((await gpudev(host, dockerd, ['orphans', '--json'])).stdout) as {
          sessions: { name: string; owner: string }[];
        };
        const listed = JSON.parse((await gpudev(host, dockerd, ['list', '--json'])).stdout) as {
          sessions: { name: string }[];
        };
        if (host.journalFiles().length && !orphans.sessions.length) {
          // Killed as it started the container, whose start Docker completed: a whole session, running.
          assert.equal(k, total, `only the last step can leave a running session (step ${k})`);
          assert.equal(listed.sessions.length, 1, `the session killed at step ${k} is listed, running`);
          assert.equal((await gpudev(host, dockerd, ['down', listed.sessions[0]!.name])).code, 0);
        } else if (host.journalFiles().length)
          assert.equal(orphans.sessions.length, 1, `the session killed at step ${k} is listed`);
        const cleanup = await gpudev(host, dockerd, ['cleanup', '--yes']);
        assert.equal(cleanup.code, 0, `cleanup after step ${k}: ${cleanup.stderr}`);
        assert.deepEqual(
          host.state(),
          original,
          `the host after a kill at step ${k}: ${killed.stderr.split('\n').filter(Boolean).pop()}`,
        );
        assert.deepEqual(host.journalFiles(), [], `journal after step ${k}`);
        assert.equal((await docker.list('gpudev.session')).length, 0, `a container was left after step ${k}`);
        assert.deepEqual(
          fs.readdirSync(path.join(host.home, '.local/state/gpudev/mps')),
          [],
          `an MPS folder was left after step ${k}`,
        );
      }
    });
  }

  it('two CLIs applying on one GPU at once queue through the host lock; the originals recorded are the true ones', async () => {
    const original = host.state();
    const [one, two] = await Promise.all([
      gpudev(host, dockerd, ['up', 'rtx3090', '--gpu', '2', '--strategy', 'mps']),
      gpudev(host, dockerd, ['up', 'rtx3090', '--gpu', '2', '--strategy', 'mps']),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.match(
      one.stderr + two.stderr,
      /waiting for GPU 2: locked by .* \(apply gpudev-rtx3090-gpu2-/,
      'the second one said whom it waits for',
    );
    const journal = JSON.parse(
      fs.readFileSync(path.join(host.home, '.local/state/gpudev', host.journalFiles()[0]!), 'utf8'),
    ) as GpuJournal;
    assert.equal(journal.sessions.length, 2);
    assert.deepEqual(
      journal.gpuWide.map((s) => s.change),
      [
        { kind: 'persistence', originalEnabled: true },
        { kind: 'clockLock', mhz: 1965 },
        { kind: 'powerCap', watts: 350, originalWatts: 700 },
      ],
    );
    for (const run of [one, two]) assert.equal((await gpudev(host, dockerd, ['down', run.stdout.trim()])).code, 0);
    assert.deepEqual(host.state(), original);
  });

  it('a stop whose restore fails keeps the session listed as "host not restored"; Retry restores it', async () => {
    const original = host.state();
    const { session } = applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 3, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    const failingRunner = new LocalRunner({ ...host.env, GPUDEV_FAKE_GPU_FAIL: '-rgc' });
    const failed = await stopSession(session, await sessionHost(host, docker, failingRunner));
    assert.match(
      failed.failure ?? '',
      /^graphics clocks reset: nvidia-smi -i GPU-[0-9a-f-]+ -rgc failed on This machine \(exit 3\): Failed \(injected/,
    );
    const listed = (await listSessions(docker, [(await sessionHost(host, docker)).journal])).sessions.find(
      (s) => s.name === session.name,
    );
    assert.ok(listed && !listed.running && listed.unrestored === failed.failure, 'listed, stopped, with what failed');
    const cli = await gpudev(host, dockerd, ['list']);
    assert.match(cli.stdout, /stopped — host not restored: graphics clocks reset/);
    const retried = await stopSession(listed, await sessionHost(host, docker));
    assert.equal(retried.failure, undefined);
    assert.deepEqual(host.state(), original);
    assert.deepEqual(host.journalFiles(), []);
    assert.equal((await docker.list('gpudev.session')).length, 0, 'the container is removed once the host is restored');
  });

  it("dockerd restarted mid-session: a new apply on that GPU is refused or joins, never taking the orphan's settings as originals; cleanup restores the true ones", async () => {
    const original = host.state();
    const first = applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 5, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    stopDockerd();
    startDockerd();
    const context = await sessionHost(host, docker);
    const listing = await listSessions(docker, [context.journal]);
    assert.deepEqual(
      orphansOf(listing).map((s) => s.name),
      [first.session.name],
      'its container stopped with the engine: an orphan',
    );
    const other = await applyCosplay(
      await applyRequest({ target: 'l4', gpu: 5, strategy: 'mps', image: dockerd.image, host }),
      host.runner,
      docker,
    );
    assert.ok(!other.ok);
    assert.match(
      other.error.message,
      new RegExp(`session "${first.session.name}" \\(tester@ci\\) on this GPU already set`),
    );
    const same = applied(
      await applyCosplay(
        await applyRequest({ target: 'rtx3090', gpu: 5, strategy: 'mps', image: dockerd.image, host }),
        host.runner,
        docker,
      ),
    );
    const journal = JSON.parse(
      fs.readFileSync(path.join(host.home, '.local/state/gpudev', host.journalFiles()[0]!), 'utf8'),
    ) as GpuJournal;
    assert.deepEqual(
      journal.gpuWide.map((s) => s.by),
      [first.session.name, first.session.name, first.session.name],
      'the joining session recorded no originals of its own',
    );
    const { cleaned, failures } = await cleanUpOrphans(
      orphansOf(await listSessions(docker, [context.journal])),
      context,
    );
    assert.deepEqual([cleaned, failures], [[first.session.name], []]);
    assert.notDeepEqual(host.state(), original, 'the GPU-wide settings stay for the live session');
    assert.equal((await stopSession(same.session, context)).failure, undefined);
    assert.deepEqual(host.state(), original);
  });

  it('a container with forged gpudev labels (a restore argv among them) is foreign: listed, never run, never removed', async () => {
    const env = { ...process.env, DOCKER_HOST: `unix://${dockerd.socketPath}` };
    const marker = path.join(os.tmpdir(), `gpudev-forged-${process.pid}`);
    const uuid = 'GPU-00000000-fa6e-0008-0000-000000000000';
    const restore = JSON.stringify([{ description: 'x', gpuWide: false, commands: [{ argv: ['touch', marker] }] }]);
    const id = execFileSync(
      'docker',
      [
        'create',
        '--label',
        'gpudev.session=gpudev-evil-gpu0-0000',
        '--label',
        'gpudev.journal=user',
        '--label',
        `gpudev.gpu=${uuid}`,
        '--label',
        `gpudev.restore=${restore}`,
        dockerd.image,
        'true',
      ],
      { env, encoding: 'utf8' },
    ).trim();
    const run = await gpudev(host, dockerd, ['orphans', '--json']);
    const listed = JSON.parse(run.stdout) as { sessions: unknown[]; foreign: { id: string; why: string }[] };
    assert.deepEqual(listed.sessions, []);
    assert.deepEqual(
      listed.foreign.map((f) => [f.id, f.why]),
      [[id, 'no host journal records it as session gpudev-evil-gpu0-0000']],
    );
    assert.equal((await gpudev(host, dockerd, ['cleanup', '--yes'])).code, 0);
    assert.ok(!fs.existsSync(marker), 'nothing from its labels ran');
    assert.equal((await docker.list('gpudev.session')).length, 1, 'and it was left alone');
  });

  it("a journal folder that is a symlink, someone else's, or writable by others is refused", async () => {
    const home = tempDir('gpudev-home-');
    const state = path.join(home, '.local/state');
    fs.mkdirSync(state, { recursive: true });
    const runner = new LocalRunner({ ...process.env, HOME: home });
    const elsewhere = tempDir('gpudev-elsewhere-');
    fs.symlinkSync(elsewhere, path.join(state, 'gpudev'));
    assert.match(
      ((await HostJournal.open(runner, false)) as { message: string }).message,
      /gpudev on This machine is a symbolic link, not a folder: refusing to use it/,
    );
    fs.rmSync(path.join(state, 'gpudev'));
    fs.mkdirSync(path.join(state, 'gpudev'), { mode: 0o700 });
    fs.chownSync(path.join(state, 'gpudev'), 65534, 65534);
    assert.match(
      ((await HostJournal.open(runner, false)) as { message: string }).message,
      /belongs to user id 65534, not 0: refusing/,
    );
    fs.chownSync(path.join(state, 'gpudev'), 0, 0);
    fs.chmodSync(path.join(state, 'gpudev'), 0o777);
    assert.match(
      ((await HostJournal.open(runner, false)) as { message: string }).message,
      /can be written by others \(mode 777\)/,
    );
    fs.chmodSync(path.join(state, 'gpudev'), 0o700);
    assert.ok(!('message' in (await HostJournal.open(runner, false))));
  });
});
