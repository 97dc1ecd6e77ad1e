import * as assert from 'node:assert/strict';
import type { GpuSample } from '../../src/hosts/gpu';
import { jobGpu } from '../../src/reserve/jobGpu';

const gpu = (index: number): GpuSample => ({
  index,
  uuid: `GPU-0000000${index}-0000-0000-0000-000000000000`,
  name: 'NVIDIA H100 80GB HBM3',
  memoryUsedMiB: 0,
  memoryTotalMiB: 81559,
  utilizationPct: 0,
  temperatureC: 30,
  powerDrawW: 70,
  powerLimitW: 700,
  migMode: 'Disabled',
});
const node = [0, 1, 2, 3].map(gpu);
const index = (chosen: GpuSample | string) => (typeof chosen === 'string' ? chosen : chosen.index);

describe('the GPU a cosplay inside a job takes', () => {
  it("is the job's first GPU by CUDA_VISIBLE_DEVICES (indices or UUIDs), in its order", () => {
    assert.equal(index(jobGpu(node, '2,3', '42')), 2);
    assert.equal(index(jobGpu(node, '3,1', '42')), 3);
    assert.equal(index(jobGpu(node, `${node[1]!.uuid},${node[0]!.uuid}`, '42')), 1);
  });

  it("is the GPUs view's choice when it is one of the job's", () => {
    assert.equal(index(jobGpu(node, '2,3', '42', node[3]!.uuid!)), 3);
  });

  it("refuses a GPU of the node that is not the job's, naming the job's", () => {
    assert.equal(
      jobGpu(node, '2,3', '42', node[0]!.uuid!),
      `${node[0]!.uuid} is not one of job 42's GPUs (GPU 2, GPU 3)`,
    );
  });

  it('takes any GPU the step sees where Slurm names none (no device files in gres.conf)', () => {
    assert.equal(index(jobGpu(node, '', '42')), 0);
    assert.equal(index(jobGpu(node, '', '42', node[2]!.uuid!)), 2);
  });

  it('says so when the step sees none of the GPUs it names, or the node has none', () => {
    assert.equal(jobGpu(node, '7', '42'), "job 42 sees none of its node's GPUs");
    assert.equal(jobGpu([], '', '42'), "job 42's node has no GPU");
  });
});
