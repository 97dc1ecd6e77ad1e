import * as assert from 'node:assert/strict';
import { changesOf, type GpuJournal } from '../../src/cosplay/journal';
import type { SessionPlan } from '../../src/cosplay/session';

const UUID = 'GPU-10f35015-e921-bfab-2eb8-4e9b6664d5f1';
const at = '2026-12-02T18:00:00.000Z';
const plan: SessionPlan = {
  target: 'rtx3090',
  targetName: 'NVIDIA GeForce RTX 3090',
  host: 'h100-sxm',
  strategy: 'mig',
  gpuUuid: UUID,
  device: null,
  vramMiB: 24576,
  clockLockMHz: 1410,
  powerCapW: 350,
  memoryClockShare: null,
  expected: [],
};
const session = (name: string, gi: number): GpuJournal['sessions'][number] => ({
  name,
  owner: 'ada@laptop',
  startedAt: at,
  hostLabel: 'This machine',
  gpuIndex: 2,
  plan,
  steps: [
    { change: { kind: 'gpuInstance', profile: '4g.40gb', profileId: 5, start: 0, gi }, state: 'done', at },
    { change: { kind: 'container', name, id: 'c0ffee0c0ffee0' }, state: 'done', at },
  ],
});
const by = 'gpudev-rtx3090-gpu2-beef';
const journal: GpuJournal = {
  version: 1,
  gpuUuid: UUID,
  gpuWide: [
    { change: { kind: 'persistence', originalEnabled: true }, state: 'done', at, by },
    { change: { kind: 'migMode', originalEnabled: false }, state: 'done', at, by },
    { change: { kind: 'powerCap', watts: 350, originalWatts: 700 }, state: 'done', at, by },
    { change: { kind: 'clockLock', mhz: 1410 }, state: 'done', at, by },
  ],
  sessions: [session(by, 1)],
};

describe('what the Stop dialog says a stop restores', () => {
  it("what is undone, in restore's order, from the journal's originals, not the changes made", () => {
    assert.deepEqual(changesOf(journal, by, true), [
      '4g.40gb GPU instance 1 at slice 0 destroyed',
      'graphics clocks reset',
      'power limit back to 700 W',
      'MIG mode back off',
      'persistence mode back on',
    ]);
    assert.deepEqual(changesOf(journal, by).slice(0, 3), [
      'persistence mode on',
      'MIG mode on',
      'power capped at 350 W',
    ]);
  });

  it('keeps the settings another session on the GPU still shares', () => {
    const shared = { ...journal, sessions: [...journal.sessions, session('gpudev-l4-gpu2-cafe', 2)] };
    assert.deepEqual(changesOf(shared, by, true), ['4g.40gb GPU instance 1 at slice 0 destroyed']);
  });
});
