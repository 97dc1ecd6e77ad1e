import * as assert from 'node:assert/strict';
import { shortGpuName, type GpuSample } from '../../src/hosts/gpu';
import { gaugeLevel, gaugeView } from '../../src/monitor/gauge';

const thresholds = { warnPercent: 80, errorPercent: 95 };
const gpu = (index: number, used: number | null, total: number | null): GpuSample => ({
  index, uuid: null, name: `NVIDIA H100 [${index}]`, memoryUsedMiB: used, memoryTotalMiB: total,
  utilizationPct: 12, temperatureC: null, powerDrawW: null, powerLimitW: null, migMode: null,
});

describe('gauge', () => {
  it('shows the first GPU as used/total GiB with one decimal', () => {
    const view = gaugeView({ kind: 'gpus', host: 'This machine', gpus: [gpu(0, 12595, 81920), gpu(1, 0, 81920)], problems: [], at: 0 }, thresholds)!;
    assert.equal(view.text, '$(chip) 12.3/80.0 GiB');
    assert.equal(view.level, 'normal');
    assert.equal(view.accessibleLabel, 'GPU 0 memory: 12.3 of 80.0 GiB used');
  });

  it('lists every GPU in the tooltip, markdown-escaped', () => {
    const view = gaugeView({ kind: 'gpus', host: 'This machine', gpus: [gpu(0, 1024, 2048), gpu(1, 0, 2048)], problems: [], at: 0 }, thresholds)!;
    assert.match(view.tooltip, /\| 0 \| NVIDIA H100 \\\[0\\\] \| 1\.0\/2\.0 GiB \(50%\) \| 12 % \|/);
    assert.match(view.tooltip, /\| 1 \| NVIDIA H100 \\\[1\\\] \| 0\.0\/2\.0 GiB \(0%\)/);
  });

  it('is hidden without GPUs, before the first sample, and without a driver', () => {
    assert.equal(gaugeView(undefined, thresholds), null);
    assert.equal(gaugeView({ kind: 'gpus', host: 'h', gpus: [], problems: [], at: 0 }, thresholds), null);
    assert.equal(gaugeView({ kind: 'no-driver', host: 'h', error: { message: 'x' }, at: 0 }, thresholds), null);
  });

  it('turns to warning at warnPercent and error at errorPercent, inclusive', () => {
    assert.equal(gaugeLevel(79.9, thresholds), 'normal');
    assert.equal(gaugeLevel(80, thresholds), 'warning');
    assert.equal(gaugeLevel(94.9, thresholds), 'warning');
    assert.equal(gaugeLevel(95, thresholds), 'error');
    assert.equal(gaugeLevel(null, thresholds), 'normal');
  });

  it('unknown memory shows "?" and stays normal', () => {
    const view = gaugeView({ kind: 'gpus', host: 'h', gpus: [gpu(0, null, 24576)], problems: [], at: 0 }, thresholds)!;
    assert.equal(view.text, '$(chip) ?/24.0 GiB');
    assert.equal(view.level, 'normal');
  });
});

describe('shortGpuName', () => {
  it('drops the vendor, keeps the rest', () => {
    assert.equal(shortGpuName('NVIDIA H100 80GB HBM3'), 'H100 80GB HBM3');
    assert.equal(shortGpuName('NVIDIA GeForce RTX 3090'), 'GeForce RTX 3090');
    assert.equal(shortGpuName('Tesla T4'), 'Tesla T4');
    assert.equal(shortGpuName('NVIDIA'), 'NVIDIA');
  });
});
