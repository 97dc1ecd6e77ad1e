import * as assert from 'node:assert/strict';
import { jobRow } from '../../src/reserve/jobRow';
import type { Reservation } from '../../src/reserve/slurm/cluster';

const job = (fields: Partial<Reservation>): Reservation => ({
  jobId: '4242',
  name: 'gpudev-h100x2',
  state: 'RUNNING',
  nodes: 'gpu07',
  gres: 'gres:gpu:h100:2',
  timeLeft: '1:59:30',
  timeLimit: '2:00:00',
  reason: 'None',
  start: '2026-12-03T10:00:00',
  partition: 'gpu',
  ...fields,
});

describe('a reservation row', () => {
  it('a running job leads with its time left', () => {
    assert.deepEqual(jobRow(job({})), {
      label: '4242 · 1:59:30 left',
      description: 'gpu:h100:2 on gpu07 · gpudev-h100x2',
    });
  });

  it('a pending one with when it may start, the reason in words after', () => {
    assert.deepEqual(jobRow(job({ state: 'PENDING', nodes: '', reason: 'Resources' })), {
      label: '4242 · pending, starts 2026-12-03 10:00:00',
      description: 'waiting for resources (the GPUs are in use) · gpu:h100:2 · gpudev-h100x2',
    });
    assert.equal(jobRow(job({ state: 'PENDING', start: 'N/A', reason: 'None' })).label, '4242 · pending');
    const startsAt = new Date(2026, 11, 3, 21, 15).getTime();
    assert.equal(
      jobRow(job({ state: 'PENDING', start: '2026-12-03T10:15:00', startsAt, clusterZone: '-1100' })).label,
      '4242 · pending, starts 2026-12-03 21:15',
      "read in the cluster's zone, shown in this machine's",
    );
  });

  it('a running one says what GPUs its nodes really have', () => {
    const gpus = [{ node: 'gpu07', name: 'NVIDIA L4', memoryMiB: 23034, uuid: 'GPU-1' }];
    assert.equal(jobRow(job({ gpus })).description, 'gpu:h100:2 on gpu07 · gpudev-h100x2 · has NVIDIA L4 ×1');
  });

  it('any other state by name', () => {
    assert.equal(jobRow(job({ state: 'COMPLETING', reason: 'None' })).label, '4242 · completing');
  });
});
