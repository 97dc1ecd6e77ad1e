import * as assert from 'node:assert/strict';
import type { GpuDevError } from '../../src/core/errors';
import { parseClusterEntries } from '../../src/reserve/clusters';
import { raceLosers, type Reservation } from '../../src/reserve/slurm/cluster';
import {
  dueWarnings,
  HIDDEN_DELAY_MS,
  ReservationWatch,
  SETTLE_DELAY_MS,
  warningWithin,
  type EndedJob,
} from '../../src/reserve/watch';

const job = (jobId: string, state: string, timeLeft = '1:00:00', nodes = '', timeLimit = '2:00:00'): Reservation => ({
  jobId,
  name: `gpudev-${jobId}`,
  state,
  nodes,
  gres: 'gpu:h100:1',
  timeLeft,
  reason: 'None',
  start: 'N/A',
  partition: 'gpu',
  timeLimit,
});

/** Timers run by hand: `next()` fires the one pending timeout and says its delay. */
function manualTimers() {
  let pending: { fn: () => void; ms: number } | undefined;
  return {
    timers: {
      setTimeout: (fn: () => void, ms: number) => (pending = { fn, ms }),
      clearTimeout: () => {
        pending = undefined;
      },
    },
    next: async () => {
      const fired = pending!;
      pending = undefined;
      fired.fn();
      await new Promise((resolve) => setImmediate(resolve));
      return fired.ms;
    },
    delay: () => pending?.ms,
  };
}

describe('reservation watch', () => {
  it("polls at the setting's pace; 5 s while a submit settles or a start is a minute away; 5 min hidden", async () => {
    let clock = 1_000_000;
    const soon = (ms: number): Reservation => ({ ...job('2', 'PENDING'), startsAt: clock + ms });
    const answers: Array<Reservation[]> = [
      [job('1', 'RUNNING')], // start: the setting (45 s)
      [job('1', 'RUNNING')], // refresh after a submit: settling
      [job('1', 'RUNNING'), job('2', 'PENDING')],
      [job('1', 'RUNNING'), job('2', 'PENDING')],
      [job('1', 'RUNNING'), job('2', 'PENDING')], // two polls agree: settled
      [job('1', 'RUNNING'), soon(50_000)], // expected within a minute
      [job('1', 'RUNNING'), soon(10 * 60_000)],
      [job('1', 'RUNNING')], // hidden, no warning due
      [job('1', 'RUNNING', '33:00')], // hidden, the 30-minute warning due within 5 minutes
    ];
    const t = manualTimers();
    const watch = new ReservationWatch(
      { list: () => Promise.resolve(answers.shift() ?? []), finalState: () => Promise.resolve('COMPLETED') },
      () => undefined,
      t.timers,
      () => clock,
      45,
    );
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    watch.start();
    await settle();
    const delays = [t.delay()];
    watch.refresh();
    await settle();
    delays.push(t.delay());
    for (let i = 0; i < 5; i++) {
      clock += t.delay()!;
      await t.next();
      delays.push(t.delay());
    }
    watch.setVisible(false);
    for (let i = 0; i < 1; i++) {
      clock += t.delay()!;
      await t.next();
      delays.push(t.delay());
    }
    assert.deepEqual(delays, [
      45_000,
      SETTLE_DELAY_MS,
      SETTLE_DELAY_MS,
      SETTLE_DELAY_MS,
      45_000,
      SETTLE_DELAY_MS,
      45_000,
      HIDDEN_DELAY_MS,
    ]);
    clock += t.delay()!;
    await t.next();
    assert.equal(t.delay(), 45_000, "a warning is due within 5 minutes: the setting's pace, hidden or not");
    watch.stop();
    const floor = new ReservationWatch(
      { list: () => Promise.resolve([]), finalState: () => Promise.resolve('') },
      () => undefined,
      t.timers,
      () => clock,
      2,
    );
    floor.start();
    await settle();
    assert.equal(t.delay(), 10_000, 'never faster than 10 s');
    floor.stop();
  });

  it("a warning is due within minutes: a threshold or the end inside the window, inside the job's limit", () => {
    assert.equal(warningWithin([job('1', 'RUNNING', '40:00')], 5), false);
    assert.equal(warningWithin([job('1', 'RUNNING', '34:00')], 5), true);
    assert.equal(warningWithin([job('1', 'RUNNING', '3:00')], 5), true, 'its end');
    assert.equal(warningWithin([job('1', 'PENDING', '34:00')], 5), false);
    assert.equal(warningWithin([job('1', 'RUNNING', '29:30', '', '30:00')], 0.4), false, 'not at its own limit');
  });

  it('a job that leaves the queue is reported with its final state; a cluster that stops answering loses nothing', async () => {
    const answers: Array<Reservation[] | GpuDevError> = [
      [job('1', 'RUNNING'), job('2', 'RUNNING')],
      { message: 'squeue failed: Unable to contact slurm controller' },
      [job('1', 'RUNNING'), job('2', 'RUNNING')],
      [job('1', 'RUNNING')],
    ];
    const t = manualTimers();
    const ended: EndedJob[] = [];
    const watch = new ReservationWatch(
      {
        list: () => Promise.resolve(answers.shift()!),
        finalState: (id) => Promise.resolve(id === '2' ? 'CANCELLED' : '?'),
      },
      (e) => ended.push(...e),
      t.timers,
    );
    watch.start();
    await new Promise((resolve) => setImmediate(resolve));
    await t.next();
    assert.match(watch.error!.message, /Unable to contact slurm controller/);
    assert.equal(watch.reservations.length, 2, 'the jobs stay as last seen while slurmctld is away');
    assert.equal(t.delay(), 30_000, "the setting's pace while the cluster is away");
    await t.next();
    assert.equal(watch.error, undefined);
    assert.deepEqual(ended, []);
    await t.next();
    assert.deepEqual(ended, [{ jobId: '2', name: 'gpudev-2', state: 'CANCELLED' }]);
    watch.stop();
  });

  it('warns 30, 15 and 5 minutes before the end, once each, only the latest threshold crossed', () => {
    const warned = new Set<string>();
    assert.deepEqual(dueWarnings([job('1', 'RUNNING', '45:00')], warned), []);
    assert.deepEqual(
      dueWarnings([job('1', 'RUNNING', '29:00')], warned).map((w) => w.minutesLeft),
      [29],
    );
    assert.deepEqual(dueWarnings([job('1', 'RUNNING', '28:00')], warned), [], 'once');
    assert.deepEqual(
      dueWarnings(
        [job('1', 'RUNNING', '4:00'), job('2', 'PENDING', '4:00'), job('3', 'RUNNING', 'UNLIMITED')],
        warned,
      ).map((w) => [w.job.jobId, w.minutesLeft]),
      [['1', 4]],
    );
    assert.deepEqual(dueWarnings([job('1', 'RUNNING', '3:00')], warned), []);
    assert.deepEqual(
      dueWarnings([job('9', 'RUNNING', '20:00')], new Set(), 6).map((w) => w.minutesLeft),
      [14],
      'time passed since the sample counts',
    );
    const short = new Set<string>();
    assert.deepEqual(
      dueWarnings([job('7', 'RUNNING', '29:59', 'n1', '30:00')], short),
      [],
      'a 30-minute reservation does not warn of its 30 minutes as it starts',
    );
    assert.deepEqual(
      dueWarnings([job('7', 'RUNNING', '14:00', 'n1', '30:00')], short).map((w) => w.minutesLeft),
      [14],
    );
  });

  it('gpuDev.clusters: valid entries kept, every invalid one named', () => {
    const { clusters, problems } = parseClusterEntries([
      { name: 'hpc', scheduler: 'slurm', login: 'hpc-login', attach: 'job-sshd', costWeights: { h100: 2 } },
      { name: 'pbs', scheduler: 'pbs', login: 'x' },
      { name: 'hpc', scheduler: 'slurm', login: 'other' },
    ]);
    assert.deepEqual(
      clusters.map((c) => c.name),
      ['hpc'],
    );
    assert.equal(problems.length, 2);
    assert.match(problems[1]!, /the name "hpc" is used twice/);
  });

  it('race losers: every other entrant of a race one of whose jobs runs, the best-ranked running one winning', () => {
    const racer = (id: string, race: string, rank: number, state: string): Reservation => ({
      ...job(id, state),
      name: `gpudev-race-${race}-${rank}-h100x1`,
    });
    assert.deepEqual(
      raceLosers([
        racer('1', 'a', 0, 'PENDING'),
        racer('2', 'a', 1, 'RUNNING'),
        racer('3', 'a', 2, 'RUNNING'),
        racer('4', 'b', 0, 'PENDING'),
        racer('5', 'b', 1, 'PENDING'),
        job('6', 'RUNNING'),
      ]),
      ['1', '3'],
    );
  });
});
