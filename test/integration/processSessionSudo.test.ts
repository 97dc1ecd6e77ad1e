// A process session as a user who is not root but has passwordless sudo: the root-only steps (clock
// lock, power cap, MIG slice) are made with `sudo -n`, the session recorded in root's journal, and stop
// puts the GPU back exactly; the user's MPS daemon, sshd and folders stay the user's. Several GPUs:
// one MPS daemon, a record and a lock per GPU.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { newSessionName } from '../../src/cosplay/apply';
import { ROOT_JOURNAL_DIR } from '../../src/cosplay/hostJournal';
import { shimArchive } from '../../src/cosplay/hostProfile';
import { planMultiCosplay } from '../../src/cosplay/multiPlan';
import { planCosplay } from '../../src/cosplay/planner';
import {
  applyProcessSession,
  stopProcessSession,
  type ProcessApplyRequest,
  type ProcessSession,
} from '../../src/cosplay/process/processSession';
import type { SshRunner } from '../../src/hosts/sshRunner';
import { repoRoot } from '../unit/fixtures';
import { SCENARIO } from './fakeHost';
import { CI, found, HOST, readState, rootJournalFiles, sudoHost, type SudoHost } from './sudoHost';

describe('process sessions with sudo: root-only steps made as root, recorded in root’s journal', function () {
  this.timeout(120_000);
  let host: SudoHost;
  let runner: SshRunner;
  let dir: string;
  let state: string;
  before(function () {
    const made = sudoHost();
    if (!made) {
      if (CI) throw new Error('the test user with sudo could not be made (test/infra/user.sh, as root)');
      this.skip();
    }
    host = made;
    ({ runner, dir, state } = made);
  });
  after(() => runner?.close());
  const fresh = (prefix: string) => host.fresh(prefix);
  /** Applies as the sudoer on the fake host's GPUs, with sudo; the session, or the test fails. */
  const applyAsSudoer = async (
    request: Pick<ProcessApplyRequest, 'plan' | 'gpuIndex' | 'gpus' | 'sessionName'>,
  ): Promise<ProcessSession> => {
    const outcome = await applyProcessSession(
      {
        ...request,
        hostLabel: 'lab',
        owner: 'tester@ci',
        shimTar: await shimArchive(repoRoot, 'shim'),
        authorizedKeys: [fs.readFileSync(path.join(dir, 'key.pub'), 'utf8')],
        extraEnv: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: state, GPUDEV_FAKE_GPU_HOST: HOST },
        sudo: true,
      },
      runner,
    );
    if (!outcome.ok) assert.fail(`${outcome.failedStep}: ${outcome.error.message}`);
    return outcome.session;
  };
  const leftovers = () => host.leftovers();

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
    const session = await applyAsSudoer({ plan: planned.plan, gpuIndex: 2, sessionName: name });
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
      host.user.user,
      host.user.user,
      host.user.user,
      host.user.user,
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
    const session = await applyAsSudoer({ plan: planned.plan, gpuIndex: 3, sessionName: name });
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
    const session = await applyAsSudoer({
      plan: multi.gpus[0]!.plan,
      gpuIndex: 5,
      gpus: multi.gpus,
      sessionName: name,
    });
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
});
