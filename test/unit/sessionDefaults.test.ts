import * as assert from 'node:assert/strict';
import { parseGpudevConfig } from '../../src/workspace/loadConfig';
import { sessionDefaults } from '../../src/workspace/sessionDefaults';

describe("a cosplay session's defaults from .gpudev.yaml", () => {
  it('takes the image, the environment and the setup, never the variables the plan sets', () => {
    const parsed = parseGpudevConfig(
      [
        'image: nvcr.io/nvidia/pytorch:24.10-py3',
        'setup: pip install -r requirements.txt',
        'env:',
        '  HF_HOME: /scratch/hf',
        '  GPUDEV_TARGET_NAME: NVIDIA H100',
        '  CUDA_VISIBLE_DEVICES: "0,1"',
        '  PATH: /opt/bin',
      ].join('\n'),
    );
    assert.ok(parsed.ok);
    assert.deepEqual(sessionDefaults(parsed.config), {
      image: 'nvcr.io/nvidia/pytorch:24.10-py3',
      env: { HF_HOME: '/scratch/hf' },
      setup: 'pip install -r requirements.txt',
      ignored: ['GPUDEV_TARGET_NAME', 'CUDA_VISIBLE_DEVICES', 'PATH'],
    });
  });

  it('an empty file gives nothing to change', () => {
    const parsed = parseGpudevConfig('workload: inference\n');
    assert.ok(parsed.ok);
    assert.deepEqual(sessionDefaults(parsed.config), { env: {}, ignored: [] });
  });
});
