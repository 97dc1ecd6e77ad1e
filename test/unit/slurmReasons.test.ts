import * as assert from 'node:assert/strict';
import { describeReason } from '../../src/reserve/slurm/reasons';

describe("a pending job's reason in words (squeue %r)", () => {
  it('the common codes', () => {
    assert.equal(describeReason('PENDING', 'None'), 'waiting to be scheduled');
    assert.equal(describeReason('PENDING', 'WaitingForScheduling'), 'waiting to be scheduled');
    assert.equal(describeReason('PENDING', 'Resources'), 'waiting for resources (the GPUs are in use)');
    assert.equal(describeReason('PENDING', 'Priority'), 'waiting for priority (jobs ahead of it in the queue)');
    assert.equal(describeReason('PENDING', 'Dependency'), 'waiting for another job it depends on');
    assert.equal(describeReason('PENDING', 'BeginTime'), 'waiting for its start time');
    assert.equal(describeReason('PENDING', 'JobHeldUser'), 'held by you (scontrol release to let it start)');
    assert.equal(
      describeReason('PENDING', 'ReqNodeNotAvail'),
      'waiting: a node it needs is not available (in use, reserved, down or drained)',
    );
  });

  it('limit families name the resource and keep the code', () => {
    assert.equal(
      describeReason('PENDING', 'AssocGrpGRES'),
      'waiting: your account has reached a group limit on GRES (AssocGrpGRES)',
    );
    assert.equal(
      describeReason('PENDING', 'AssocGrpGRESMinutes'),
      'waiting: your account has reached a group limit on GRES minutes (AssocGrpGRESMinutes)',
    );
    assert.equal(
      describeReason('PENDING', 'QOSMaxCpuPerUserLimit'),
      "cannot start as asked: over its QOS's per-job limit on cpu per user (QOSMaxCpuPerUserLimit)",
    );
    assert.equal(
      describeReason('PENDING', 'MaxGRESPerAccount'),
      'waiting: over the per-account limit of its QOS on GRES (MaxGRESPerAccount)',
    );
  });

  it('a running job has no reason to show; an unknown code keeps its name', () => {
    assert.equal(describeReason('RUNNING', 'None'), '');
    assert.equal(describeReason('COMPLETING', 'None'), '');
    assert.equal(describeReason('PENDING', ''), '');
    assert.equal(describeReason('PENDING', 'SomethingNew'), 'waiting (SomethingNew)');
    assert.equal(describeReason('FAILED', 'NonZeroExitCode'), 'ended with a non-zero exit code');
    assert.equal(describeReason('CANCELLED', 'SomethingNew'), 'SomethingNew');
  });
});
