import * as assert from 'node:assert/strict';
import type { GpuSample } from '../../src/hosts/gpu';
import { gpuRow } from '../../src/monitor/gpuRow';

const h100: GpuSample = {
  index: 0,
  uuid: 'GPU-e5f404f3-cc2a-cf0c-219f-dcf1a4e223f2',
  name: 'NVIDIA H100 80GB HBM3',
  memoryUsedMiB: 11776,
  memoryTotalMiB: 81559,
  utilizationPct: 37,
  temperatureC: 41,
  powerDrawW: 362,
  powerLimitW: 700,
  migMode: 'Disabled',
};

describe("a GPU's row in the GPUs view", () => {
  it('puts the index, utilisation and memory in the label, the model in the description', () => {
    assert.deepEqual(gpuRow(h100), { label: 'GPU 0 · 37 % · 11.5/79.6 GiB', description: 'H100 80GB HBM3' });
  });

  it('leaves out what the driver does not report, and says when MIG is on', () => {
    assert.deepEqual(gpuRow({ ...h100, index: 5, utilizationPct: null, memoryUsedMiB: null, migMode: 'Enabled' }), {
      label: 'GPU 5 · ?/79.6 GiB',
      description: 'H100 80GB HBM3 · MIG',
    });
  });
});
