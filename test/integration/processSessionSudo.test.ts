// A process session as a user who is not root but has passwordless sudo: the root-only steps (clock
// lock, power cap) are made with `sudo -n`, the session recorded in root's journal, and stop, rollback
// and clean-up put the GPU back exactly; the user's MPS daemon, sshd and folders stay the user's.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { newSessionName } from '../../src/cosplay/apply';
import { ROOT_JOURNAL_DIR } from '../../src/cosplay/hostJournal';
import { shimArchive } from '../../src/cosplay/hostProfile';
import { planMultiCosplay } from '../../src/cosplay/multiPlan';
import { planCosplay } from '../../src/cosplay/planner';
import { applyProcessSession, stopProcessSession } from '../../src/cosplay/process/processSession';
import { SshRunner } from '../../src/hosts/sshRunner';
import { repoRoot } from '../unit/fixtures';
import { cliHome, gpudevCosplay } from './cliHome';
import { SCENARIO } from './fakeHost';
import { startSshd, stopSshd, type Sshd, type SshdOptions } from './sshd';

const CI = process.env.CI === 'true' || process.env.CI === '1';
/** The fake host's number: its GPUs' UUIDs, and so the files of root's journal this test may touch. */
const HOST = '18';

function sudoUser(): { user: string; home: string } | undefined {
  const made = spawnSync('bash', [path.join(repoRoot, 'test/infra/user.sh')], {
    encoding: 'utf8',
    env: { ...process.env, GPUDEV_TEST_USER: 'gpudev-sudoer', GPUDEV_TEST_USER_SUDO: '1' },
  });
  if (made.status !== 0) return undefined;
  const vars = Object.fromEntries(
    made.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  return { user: vars['TEST_USER']!, home: vars['TEST_HOME']! };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** A folder of fake GPU state both the user and root write, with an idle GPU. */
function gpuState(dir: string): string {
  fs.chmodSync(dir, 0o755);
  const state = path.join(dir, 'gpu');
  fs.mkdirSync(state, { mode: 0o777 });
  fs.chmodSync(state, 0o777);
  fs.writeFileSync(path.join(state, 'processes.json'), '[]');
  return state;
}

const readState = (state: string) =>
  Object.fromEntries(
    fs
      .readdirSync(state)
      .filter((f) => /^gpu\d+\.json$/.test(f))
      .sort()
      .map((f) => [f, JSON.parse(fs.readFileSync(path.join(state, f), 'utf8')) as Record<string, unknown>]),
  );

const found = (key: string) => {
  const entry = builtinCatalog().lookup(key);
  if (!entry.ok) throw new Error(entry.error.message);
  return entry.entry;
};

const rootJournalFiles = (uuidPrefix: string) =>
  fs.existsSync(ROOT_JOURNAL_DIR)
    ? fs.readdirSync(ROOT_JOURNAL_DIR).filter((f) => f.startsWith(uuidPrefix) && f.endsWith('.json'))
    : [];

describe('process sessions with sudo: root-only steps made as root, recorded in root’s journal', function () {
  this.timeout(120_000);
  let sshd: Sshd;
  let user: { user: string; home: string };
  let runner: SshRunner;
  let dir: string;
  let state: string;
  before(function () {
    const made = process.getuid?.() === 0 ? sudoUser() : undefined;
    if (!made) {
      if (CI) throw new Error('the test user with sudo could not be made (test/infra/user.sh, as root)');
      this.skip();
    }
    user = made;
    sshd = startSshd();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-process-sudo-'));
    state = gpuState(dir);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    runner = new SshRunner({
      label: 'lab',
      host: '127.0.0.1',
      port: sshd.port,
      username: user.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
      env: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: state, GPUDEV_FAKE_GPU_HOST: HOST },
    });
  });
  // A run that failed half-way leaves its sessions: the user, and this host's GPUs in root's journal, start from nothing.
  const fresh = async (prefix: string) => {
    await runner.run([
      'sh',
      '-c',
      'pkill -u "$(id -u)" -f "[s]tate/gpudev/sessions/"; rm -rf "$HOME/.local/state/gpudev"',
    ]);
    for (const file of rootJournalFiles(prefix)) fs.rmSync(path.join(ROOT_JOURNAL_DIR, file));
  };
  after(() => runner?.close());

  const leftovers = async () =>
    (
      await runner.run([
        'sh',
        '-c',
        'find "$HOME/.local/state/gpudev" -path "*/mps/*" -o -path "*/sessions/*" -o -name "*.json"; pgrep -u "$(id -u)" -f "[s]tate/gpudev/(sessions|mps)/" || true',
      ])
    ).stdout.trim();

  it('locks the clocks and caps the power with sudo -n, journalled in root’s journal; stop restores them exactly', async () => {
    await fresh(`GPU-00000000-fa6e-00${HOST}`);
    await runner.run(['nvidia-smi', '--query-gpu=power.limit', '--format=csv']); // every GPU's initial state
    const original = readState(state);
    const planned = planCosplay({
      target: found('rtx3090'),
      host: found('h100-sxm'),
      hostGpuCount: 8,
      strategy: 'mps',
    });
    assert.ok(planned.ok);
    const lock = planned.plan.mutations.find((m) => m.change.kind === 'clockLock')?.change;
    const cap = planned.plan.mutations.find((m) => m.change.kind === 'powerCap')?.change;
    assert.ok(lock?.kind === 'clockLock' && cap?.kind === 'powerCap', 'the plan locks clocks and caps power');
    const name = newSessionName('rtx3090', 2);
    const outcome = await applyProcessSession(
      {
        plan: planned.plan,
        gpuIndex: 2,
        hostLabel: 'lab',
        sessionName: name,
        owner: 'tester@ci',
        shimTar: await shimArchive(repoRoot, 'shim'),
        authorizedKeys: [fs.readFileSync(path.join(dir, 'key.pub'), 'utf8')],
        extraEnv: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: state, GPUDEV_FAKE_GPU_HOST: HOST },
        sudo: true,
      },
      runner,
    );
    if (!outcome.ok) assert.fail(`${outcome.failedStep}: ${outcome.error.message}`);
    const { session } = outcome;
    assert.deepEqual(session.notApplied, [], 'everything was applied');
    assert.equal(session.journal, 'root');
    const gpu = readState(state)['gpu2.json']!;
    assert.equal(gpu['clocks'], `${lock.mhz},${lock.mhz}`, 'the fake GPU has its clocks locked');
    assert.equal(gpu['powerLimitW'], cap.watts, 'and its power capped');
    const file = path.join(ROOT_JOURNAL_DIR, `${session.gpuUuid}.json`);
    const journal = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      gpuWide: { change: { kind: string }; by: string }[];
      sessions: { name: string; steps: { change: { kind: string }; state: string }[] }[];
    };
    assert.deepEqual(
      journal.gpuWide.map((s) => [s.change.kind, s.by]),
      planned.plan.mutations.filter((m) => m.gpuWide).map((m) => [m.change.kind, name]),
    );
    assert.deepEqual(
      journal.sessions.find((s) => s.name === name)?.steps.map((s) => [s.change.kind, s.state]),
      [
        ['mpsDaemon', 'done'],
        ['processSession', 'done'],
      ],
    );
    // The user's processes and folders are the user's, never root's.
    const owners = await runner.run([
      'sh',
      '-c',
      `stat -c %U "$1" "$1/env.sh" "$HOME/.local/state/gpudev/mps/$2/pipe"; ps -o user= -p "$(cat "$1/sshd.pid")"; . "$1/env.sh"; echo "$CUDA_VISIBLE_DEVICES $GPUDEV_EXPECT_CLOCK_MHZ"`,
      'owners',
      session.folder,
      name,
    ]);
    assert.deepEqual(owners.stdout.trim().split('\n'), [
      user.user,
      user.user,
      user.user,
      user.user,
      `${session.gpuUuid} ${lock.mhz}`,
    ]);

    const stopped = await stopProcessSession({ name, gpuUuid: session.gpuUuid, journal: 'root' }, runner, 'tester@ci');
    assert.equal(stopped.failure, undefined);
    assert.deepEqual(readState(state), original, 'the GPU is as it was');
    assert.ok(!fs.existsSync(file), "root's journal no longer records the GPU");
    assert.equal(await leftovers(), '', 'no MPS daemon or session sshd, no MPS or session folder, no journal file');
  });

  it('makes a MIG slice as root: the session’s processes see the MIG device, and stop destroys it and turns MIG mode back off', async () => {
    await fresh(`GPU-00000000-fa6e-00${HOST}`);
    await runner.run(['nvidia-smi', '--query-gpu=power.limit', '--format=csv']);
    const original = readState(state);
    const planned = planCosplay({
      target: found('rtx3090'),
      host: found('h100-sxm'),
      hostGpuCount: 8,
      strategy: 'mig',
    });
    assert.ok(planned.ok);
    const name = newSessionName('rtx3090', 3);
    const outcome = await applyProcessSession(
      {
        plan: planned.plan,
        gpuIndex: 3,
        hostLabel: 'lab',
        sessionName: name,
        owner: 'tester@ci',
        shimTar: await shimArchive(repoRoot, 'shim'),
        authorizedKeys: [fs.readFileSync(path.join(dir, 'key.pub'), 'utf8')],
        extraEnv: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: state, GPUDEV_FAKE_GPU_HOST: HOST },
        sudo: true,
      },
      runner,
    );
    if (!outcome.ok) assert.fail(`${outcome.failedStep}: ${outcome.error.message}`);
    const { session } = outcome;
    const gpu = readState(state)['gpu3.json'] as { migMode: string; instances: { uuid: string }[] };
    assert.equal(gpu.migMode, 'Enabled');
    assert.deepEqual(
      gpu.instances.map((i) => i.uuid),
      [session.device],
      'one slice, the session’s device',
    );
    assert.match(session.device, /^MIG-/);
    const seen = await runner.run(['sh', '-c', '. "$1/env.sh"; echo "$CUDA_VISIBLE_DEVICES"', 'env', session.folder]);
    assert.equal(seen.stdout.trim(), session.device);
    const shown = await runner.run([
      'sh',
      '-c',
      '. "$1/env.sh"; nvidia-smi -L; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader',
      'env',
      session.folder,
    ]);
    assert.match(
      shown.stdout,
      new RegExp(
        `^GPU \\d+: NVIDIA GeForce RTX 3090 \\(UUID: ${session.device}\\)\\nNVIDIA GeForce RTX 3090, 24576 MiB\\n$`,
      ),
    );
    const stopped = await stopProcessSession({ name, gpuUuid: session.gpuUuid, journal: 'root' }, runner, 'tester@ci');
    assert.equal(stopped.failure, undefined);
    assert.deepEqual(readState(state), original, 'no slice, MIG mode as it was');
    assert.equal(await leftovers(), '');
  });

  it('a session of two GPUs: one MPS daemon for both, each GPU locked, journalled and put back, both in CUDA_VISIBLE_DEVICES', async () => {
    await fresh(`GPU-00000000-fa6e-00${HOST}`);
    await runner.run(['nvidia-smi', '--query-gpu=power.limit', '--format=csv']);
    const original = readState(state);
    const multi = planMultiCosplay(
      { target: found('rtx3090'), host: found('h100-sxm'), hostGpuCount: 8, strategy: 'mps' },
      [{ index: 5 }, { index: 4 }],
    );
    assert.ok(multi.ok);
    const name = newSessionName('rtx3090', [5, 4]);
    const outcome = await applyProcessSession(
      {
        plan: multi.gpus[0]!.plan,
        gpuIndex: 5,
        gpus: multi.gpus,
        hostLabel: 'lab',
        sessionName: name,
        owner: 'tester@ci',
        shimTar: await shimArchive(repoRoot, 'shim'),
        authorizedKeys: [fs.readFileSync(path.join(dir, 'key.pub'), 'utf8')],
        extraEnv: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: state, GPUDEV_FAKE_GPU_HOST: HOST },
        sudo: true,
      },
      runner,
    );
    if (!outcome.ok) assert.fail(`${outcome.failedStep}: ${outcome.error.message}`);
    const { session } = outcome;
    const uuids = session.gpus!.map((g) => g.uuid);
    assert.deepEqual(
      session.gpus!.map((g) => g.index),
      [5, 4],
    );
    const now = readState(state);
    for (const gpu of ['gpu4.json', 'gpu5.json'])
      assert.match(String(now[gpu]!['clocks']), /^\d+,\d+$/, `${gpu} locked`);
    const records = uuids.map((uuid) =>
      (
        JSON.parse(fs.readFileSync(path.join(ROOT_JOURNAL_DIR, `${uuid}.json`), 'utf8')) as {
          gpuWide: unknown[];
          sessions: { name: string; plan: { gpus?: string[] }; steps: { change: { kind: string } }[] }[];
        }
      ).sessions.find((s) => s.name === name)!,
    );
    assert.deepEqual(
      records.map((r) => [r.plan.gpus, r.steps.map((s) => s.change.kind)]),
      [
        [uuids, ['mpsDaemon', 'processSession']],
        [uuids, []],
      ],
      'each GPU records the session; the lead holds the MPS daemon and the sshd',
    );
    const seen = await runner.run([
      'sh',
      '-c',
      '. "$1/env.sh"; echo "$CUDA_VISIBLE_DEVICES"; nvidia-smi -L; ls "$HOME/.local/state/gpudev/mps"',
      'env',
      session.folder,
    ]);
    const [visible, ...rest] = seen.stdout.trim().split('\n');
    assert.equal(visible, uuids.join(','));
    assert.equal(rest.filter((l) => /NVIDIA GeForce RTX 3090/.test(l)).length, 2, seen.stdout);
    assert.deepEqual(
      rest.filter((l) => l.startsWith('gpudev-')),
      [name],
      'one MPS daemon',
    );
    const stopped = await stopProcessSession(
      { name, gpuUuid: session.gpuUuid, gpus: session.gpus!, journal: 'root' },
      runner,
      'tester@ci',
    );
    assert.equal(stopped.failure, undefined);
    assert.deepEqual(readState(state), original, 'both GPUs as they were');
    assert.deepEqual(rootJournalFiles(`GPU-00000000-fa6e-00${HOST}`), []);
    assert.equal(await leftovers(), '');
  });

  it('the CLI: up --no-docker --sudo, list --sudo, down; SIGKILL mid-apply then cleanup --sudo restores the GPU', async () => {
    // The CLI's commands carry no variables of their own: a second sshd gives its sessions the fake GPU's state.
    const cliState = gpuState(fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-process-sudo-cli-')));
    const options: SshdOptions = { dir: `${sshd.dir}-sudo`, port: await freePort() };
    process.env.GPUDEV_SSHD_GPU_STATE = cliState;
    let second: Sshd;
    try {
      second = startSshd(options);
    } finally {
      delete process.env.GPUDEV_SSHD_GPU_STATE;
    }
    try {
      const home = cliHome(second);
      const spec = `${user.user}@127.0.0.1:${second.port}`;
      const up = ['up', 'rtx3090', '--gpu', '6', '--strategy', 'mps', '--no-docker', '--sudo', '--host', spec];
      // A run that failed half-way: its sessions cleaned up first, the GPUs' state read as the fake starts it.
      await fresh('no-such-gpu');
      assert.equal((await gpudevCosplay(home, ['cleanup', '--yes', '--sudo', '--host', spec])).code, 0);
      execFileSync(path.join(repoRoot, 'lab/fake-gpu/bin/nvidia-smi'), ['--query-gpu=power.limit', '--format=csv'], {
        env: { ...process.env, GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: cliState },
      });
      const original = readState(cliState);

      const applied = await gpudevCosplay(home, up);
      assert.equal(applied.code, 0, applied.stderr);
      assert.doesNotMatch(applied.stderr, /not applied/);
      const name = applied.stdout.trim();
      const sessions = (json: string) =>
        (JSON.parse(json) as { sessions: { name: string; gpuUuid: string; running: boolean; journal: string }[] })
          .sessions;
      const listed = sessions((await gpudevCosplay(home, ['list', '--json', '--sudo', '--host', spec])).stdout);
      const session = listed.find((s) => s.name === name);
      assert.equal(session?.journal, 'root');
      const prefix = session.gpuUuid;
      assert.match(String(readState(cliState)['gpu6.json']?.['clocks']), /^\d+,\d+$/, 'clocks locked');
      const list = await gpudevCosplay(home, ['list', '--sudo', '--host', spec]);
      assert.match(list.stdout, new RegExp(`${name} .*running \\(process session, sshd on port \\d+\\)`));
      // Stopped without --sudo: the session's folder, which the user's journal does not know, says root's has it.
      const down = await gpudevCosplay(home, ['down', name, '--host', spec]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /graphics clocks reset/);
      assert.deepEqual(readState(cliState), original);
      assert.equal(await leftovers(), '');

      // Two GPUs without Docker (and here without sudo): one process session, both GPUs in it.
      const two = await gpudevCosplay(home, ['up', 'rtx3090', '--gpu', '2,3', '--no-docker', '--host', spec]);
      assert.equal(two.code, 0, two.stderr);
      const both = sessions((await gpudevCosplay(home, ['list', '--json', '--host', spec])).stdout).find(
        (s) => s.name === two.stdout.trim(),
      ) as { running: boolean; gpus?: { index: number }[] } | undefined;
      assert.deepEqual([both?.running, both?.gpus?.map((g) => g.index)], [true, [2, 3]]);
      const alias = /ssh -F (\S+) (\S+)/.exec(two.stderr);
      assert.ok(alias, two.stderr);
      const shown = spawnSync('ssh', ['-F', alias[1]!, '-o', 'BatchMode=yes', alias[2]!, 'nvidia-smi', '-L'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, /^GPU 2: NVIDIA GeForce RTX 3090 .*\nGPU 3: NVIDIA GeForce RTX 3090 /);
      assert.equal((await gpudevCosplay(home, ['down', two.stdout.trim(), '--host', spec])).code, 0);
      assert.equal(await leftovers(), '');

      const steps = applied.stderr.split('\n').filter((line) => line.startsWith('… ')).length;
      for (let k = 1; k <= steps; k++) {
        await gpudevCosplay(home, up, k);
        // What the host was still running for the killed CLI finishes first.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const now = sessions((await gpudevCosplay(home, ['list', '--json', '--sudo', '--host', spec])).stdout);
        for (const running of now.filter((s) => s.running))
          assert.equal((await gpudevCosplay(home, ['down', running.name, '--sudo', '--host', spec])).code, 0);
        const cleanup = await gpudevCosplay(home, ['cleanup', '--yes', '--sudo', '--host', spec]);
        assert.equal(cleanup.code, 0, `killed at step ${k}: ${cleanup.stderr}`);
        assert.deepEqual(readState(cliState), original, `killed at step ${k}, then cleanup: the GPU is as it was`);
        assert.equal(await leftovers(), '', `killed at step ${k}, then cleanup`);
        assert.deepEqual(rootJournalFiles(prefix), [], `killed at step ${k}: root's journal is clear`);
      }
    } finally {
      stopSshd(options);
    }
  });
});
