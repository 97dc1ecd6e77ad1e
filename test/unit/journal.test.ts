import * as assert from 'node:assert/strict';
import { computeAppsOf, ownersOf } from '../../src/cosplay/busyGpu';
import { describeChange, makeCommand, mpsFolderOk, undoCommands, type Change } from '../../src/cosplay/changes';
import {
  changesOf,
  clashWith,
  emptyJournal,
  expectationsOf,
  parseJournal,
  settingsOf,
  type GpuJournal,
} from '../../src/cosplay/journal';
import { containerLabels, labelsOf, type SessionPlan } from '../../src/cosplay/session';

const UUID = 'GPU-10f35015-e921-bfab-2eb8-4e9b6664d5f1';
const plan: SessionPlan = {
  target: 'rtx3090',
  targetName: 'NVIDIA GeForce RTX 3090',
  host: 'h100-sxm',
  strategy: 'mps',
  gpuUuid: UUID,
  device: UUID,
  vramMiB: 24576,
  clockLockMHz: 1965,
  powerCapW: 350,
  memoryClockShare: null,
  expected: [],
};
const at = '2026-12-02T18:00:00.000Z';
const journal: GpuJournal = {
  version: 1,
  gpuUuid: UUID,
  gpuWide: [
    { change: { kind: 'persistence', originalEnabled: false }, state: 'done', at, by: 'gpudev-rtx3090-gpu2-beef' },
    { change: { kind: 'clockLock', mhz: 1965 }, state: 'done', at, by: 'gpudev-rtx3090-gpu2-beef' },
    {
      change: { kind: 'powerCap', watts: 350, originalWatts: 700 },
      state: 'intended',
      at,
      by: 'gpudev-rtx3090-gpu2-beef',
    },
  ],
  sessions: [
    {
      name: 'gpudev-rtx3090-gpu2-beef',
      owner: 'ada@laptop',
      startedAt: at,
      hostLabel: 'lab',
      gpuIndex: 2,
      plan,
      steps: [
        {
          change: { kind: 'mpsDaemon', folder: '/home/ada/.local/state/gpudev/mps/gpudev-rtx3090-gpu2-beef' },
          state: 'done',
          at,
        },
      ],
    },
  ],
};

describe('the host journal and its typed changes', () => {
  it('turns each change into argv by code, addressing the GPU by UUID', () => {
    assert.deepEqual(makeCommand({ kind: 'powerCap', watts: 350, originalWatts: 700 }, UUID), {
      argv: ['nvidia-smi', '-i', UUID, '-pl', '350'],
    });
    assert.deepEqual(undoCommands({ kind: 'powerCap', watts: 350, originalWatts: 700 }, UUID), [
      { argv: ['nvidia-smi', '-i', UUID, '-pl', '700'] },
    ]);
    assert.deepEqual(undoCommands({ kind: 'persistence', originalEnabled: true }, UUID), [
      { argv: ['nvidia-smi', '-i', UUID, '-pm', '1'] },
    ]);
    assert.deepEqual(
      undoCommands({ kind: 'gpuInstance', profile: '4g.40gb', profileId: 5, start: 0, gi: 3 }, UUID).map((c) =>
        c.argv.join(' '),
      ),
      [`nvidia-smi mig -i ${UUID} -dci -gi 3`, `nvidia-smi mig -i ${UUID} -dgi -gi 3`],
    );
    assert.deepEqual(
      undoCommands({ kind: 'gpuInstance', profile: '4g.40gb', profileId: 5, start: 0 }, UUID),
      [],
      'an instance whose id was never read is found on the GPU first',
    );
    const [quit, remove] = undoCommands({ kind: 'mpsDaemon', folder: '/var/lib/gpudev/mps/gpudev-x-gpu0-0000' }, UUID);
    assert.deepEqual(quit, {
      argv: ['nvidia-cuda-mps-control'],
      stdin: 'quit\n',
      env: {
        CUDA_MPS_PIPE_DIRECTORY: '/var/lib/gpudev/mps/gpudev-x-gpu0-0000/pipe',
        CUDA_MPS_LOG_DIRECTORY: '/var/lib/gpudev/mps/gpudev-x-gpu0-0000/log',
      },
    });
    assert.deepEqual(remove, { argv: ['rm', '-rf', '--', '/var/lib/gpudev/mps/gpudev-x-gpu0-0000'] });
    assert.equal(makeCommand({ kind: 'container', name: 'gpudev-x-gpu0-0000' }, UUID), null);
  });

  it('reads its own journal back, and refuses one that was edited: argv, shell, strange paths, numbers out of range, another GPU', () => {
    assert.deepEqual(parseJournal(JSON.stringify(journal), UUID), journal);
    const tampered = (edit: (j: Record<string, unknown>) => void) => {
      const copy = JSON.parse(JSON.stringify(journal)) as Record<string, unknown>;
      edit(copy);
      return parseJournal(JSON.stringify(copy), UUID);
    };
    const gpuWide = (j: Record<string, unknown>) => j.gpuWide as Array<Record<string, unknown>>;
    assert.match(
      tampered((j) => {
        gpuWide(j)[0]!.change = { kind: 'persistence', originalEnabled: false, argv: ['sh', '-c', 'id'] };
      }) as string,
      /does not read as a gpudev journal/,
    );
    assert.match(
      tampered((j) => {
        gpuWide(j)[0]!.change = { kind: 'shell', command: 'id' };
      }) as string,
      /does not read/,
    );
    assert.match(
      tampered((j) => {
        gpuWide(j)[2]!.change = { kind: 'powerCap', watts: 350, originalWatts: '700; reboot' };
      }) as string,
      /does not read/,
    );
    assert.match(
      tampered((j) => {
        gpuWide(j)[2]!.change = { kind: 'powerCap', watts: 350, originalWatts: 99999 };
      }) as string,
      /does not read/,
    );
    assert.match(
      tampered((j) => {
        (j.sessions as Array<{ steps: Array<{ change: unknown }> }>)[0]!.steps[0]!.change = {
          kind: 'mpsDaemon',
          folder: '/tmp/$(id)',
        };
      }) as string,
      /does not read/,
    );
    assert.match(
      tampered((j) => {
        (j.sessions as Array<{ name: string }>)[0]!.name = '../../etc';
      }) as string,
      /does not read/,
    );
    assert.match(
      parseJournal(JSON.stringify(journal), 'GPU-e284f2f0-b7db-deb5-4d10-143420128721') as string,
      /names GPU-10f35015/,
    );
    assert.equal(parseJournal('{"version": 1,', UUID), 'it is not JSON');
  });

  it('only undoes MPS folders of its own, directly under its MPS root', () => {
    assert.ok(mpsFolderOk('/var/lib/gpudev/mps/gpudev-rtx3090-gpu0-beef', '/var/lib/gpudev/mps'));
    assert.ok(!mpsFolderOk('/var/lib/gpudev/mps/../../etc', '/var/lib/gpudev/mps'));
    assert.ok(!mpsFolderOk('/home/eve/mps/gpudev-x-gpu0-0000', '/var/lib/gpudev/mps'));
    assert.ok(!mpsFolderOk('/var/lib/gpudev/mps/gpudev-a/b', '/var/lib/gpudev/mps'));
  });

  it('a second session joins only with exactly the same GPU-wide settings; orphans count too', () => {
    assert.deepEqual(settingsOf(journal), { mig: false, clockLockMHz: 1965, memoryClockMHz: null, powerCapW: 350 });
    assert.equal(
      clashWith(journal, { mig: false, clockLockMHz: 1965, memoryClockMHz: null, powerCapW: 350 }),
      undefined,
    );
    const clash = clashWith(journal, { mig: false, clockLockMHz: 1110, memoryClockMHz: null, powerCapW: 72 });
    assert.match(
      clash?.message ?? '',
      /session "gpudev-rtx3090-gpu2-beef" \(ada@laptop\) on this GPU already set no MIG, clocks 1965 MHz, power 350 W; this cosplay needs no MIG, clocks 1110 MHz, power 72 W/,
    );
    assert.ok(
      clashWith(journal, { mig: false, clockLockMHz: 1965, memoryClockMHz: null, powerCapW: null }),
      'no power cap is a different setting too',
    );
    assert.equal(
      clashWith(emptyJournal(UUID), { mig: true, clockLockMHz: null, memoryClockMHz: null, powerCapW: 1 }),
      undefined,
    );
  });

  it('says what a session changed, and what stopping it undoes, in order', () => {
    assert.deepEqual(changesOf(journal, 'gpudev-rtx3090-gpu2-beef'), [
      'persistence mode on',
      'graphics clocks locked at 1965 MHz',
      'power capped at 350 W',
      'MPS daemon on /home/ada/.local/state/gpudev/mps/gpudev-rtx3090-gpu2-beef',
    ]);
    assert.deepEqual(changesOf(journal, 'gpudev-rtx3090-gpu2-beef', true), [
      'MPS daemon stopped and its folder removed',
      'power limit back to 700 W',
      'graphics clocks reset',
      'persistence mode back off',
    ]);
    assert.equal(
      describeChange({ kind: 'migMode', originalEnabled: false } satisfies Change, true),
      'MIG mode back off',
    );
    assert.deepEqual(expectationsOf(journal), { GPUDEV_EXPECT_CLOCK_MHZ: '1965', GPUDEV_EXPECT_POWER_W: '350' });
  });

  it('container labels only name the session, its journal and GPU; forged ones are not read', () => {
    const labels = containerLabels('gpudev-rtx3090-gpu2-beef', 'root', UUID, 'rtx3090');
    assert.deepEqual(labelsOf({ id: 'c', name: 'n', labels, state: 'running', createdMs: 0 }), {
      session: 'gpudev-rtx3090-gpu2-beef',
      journal: 'root',
      gpuUuid: UUID,
    });
    const forged = { 'gpudev.session': 'x', 'gpudev.restore': '[{"commands":[{"argv":["sh","-c","id"]}]}]' };
    assert.equal(labelsOf({ id: 'c', name: 'n', labels: forged, state: 'exited', createdMs: 0 }), undefined);
    assert.equal(
      labelsOf({ id: 'c', name: 'n', labels: { ...labels, 'gpudev.journal': '/etc' }, state: 'exited', createdMs: 0 }),
      undefined,
    );
  });

  it("reads the GPU's compute processes and their owners", () => {
    const csv = `2085037, python3, 13266, ${UUID}\n2085212, /opt/conda/bin/python3, 1952, GPU-e284f2f0-b7db-deb5-4d10-143420128721\n[N/A], x, 1, ${UUID}\n`;
    assert.deepEqual(computeAppsOf(csv, UUID), [{ pid: 2085037, name: 'python3', memoryMiB: 13266 }]);
    assert.deepEqual(
      [...ownersOf('2085037 alice\n  17 root\ngarbage\n')],
      [
        [2085037, 'alice'],
        [17, 'root'],
      ],
    );
  });
});
