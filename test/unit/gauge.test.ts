import * as assert from 'node:assert/strict';
import { shortGpuName, type GpuSample } from '../../src/hosts/gpu';
import type { ProbeResult } from '../../src/hosts/gpuProbe';
import { gaugeLevel, gaugeTarget, gaugeView, gpuKey } from '../../src/monitor/gauge';

const thresholds = { warnPercent: 80, errorPercent: 95 };
const gpu = (index: number, used: number | null, total: number | null): GpuSample => ({
  index,
  uuid: null,
  name: `NVIDIA H100 [${index}]`,
  memoryUsedMiB: used,
  memoryTotalMiB: total,
  utilizationPct: 12,
  temperatureC: null,
  powerDrawW: null,
  powerLimitW: null,
  migMode: null,
});

describe('gauge', () => {
  it('shows the first GPU as used/total GiB with one decimal', () => {
    const view = gaugeView(
      { kind: 'gpus', host: 'This machine', gpus: [gpu(0, 12595, 81920), gpu(1, 0, 81920)], problems: [], at: 0 },
      thresholds,
    )!;
    assert.equal(view.text, '$(chip) 12.3/80.0 GiB · GPU 0', 'which of the two');
    assert.equal(view.level, 'normal');
    assert.equal(view.accessibleLabel, 'GPU 0 memory: 12.3 of 80.0 GiB used');
  });

  it('lists every GPU in the tooltip, markdown-escaped', () => {
    const view = gaugeView(
      { kind: 'gpus', host: 'This machine', gpus: [gpu(0, 1024, 2048), gpu(1, 0, 2048)], problems: [], at: 0 },
      thresholds,
    )!;
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
    const view = gaugeView(
      { kind: 'gpus', host: 'This machine', gpus: [gpu(0, null, 24576)], problems: [], at: 0 },
      thresholds,
    )!;
    assert.equal(view.text, '$(chip) ?/24.0 GiB');
    assert.equal(view.level, 'normal');
  });
});

describe('the GPU the gauge follows', () => {
  const sampled = (host: string): ProbeResult => ({ kind: 'gpus', host, gpus: [gpu(0, 1, 2)], problems: [], at: 0 });
  const noDriver = (host: string): ProbeResult => ({ kind: 'no-driver', host, error: { message: 'none' }, at: 0 });

  it("is this machine's first GPU by default", () => {
    assert.deepEqual(
      gaugeTarget(
        [
          { name: 'This machine', snapshot: sampled('This machine') },
          { name: 'lab', snapshot: undefined },
        ],
        undefined,
      ),
      { host: 'This machine', pinned: false },
    );
  });

  it("is the first SSH host's when this machine has no driver", () => {
    assert.deepEqual(
      gaugeTarget(
        [
          { name: 'This machine', snapshot: noDriver('This machine') },
          { name: 'lab', snapshot: undefined },
        ],
        undefined,
      ),
      { host: 'lab', pinned: false },
    );
    assert.deepEqual(gaugeTarget([{ name: 'This machine', snapshot: noDriver('This machine') }], undefined), {
      host: 'This machine',
      pinned: false,
    });
    const both = [
      { name: 'This machine', snapshot: sampled('This machine') },
      { name: 'lab', snapshot: sampled('lab') },
    ];
    assert.deepEqual(
      gaugeTarget(both, undefined, { host: 'lab', gpu: 'GPU-2' }),
      { host: 'lab', gpu: 'GPU-2', pinned: false },
      'a cosplayed GPU matters most',
    );
    assert.equal(
      gaugeTarget(both, { host: 'This machine', gpu: '#1' }, { host: 'lab', gpu: 'GPU-2' })?.pinned,
      true,
      "the user's pick still wins",
    );
  });

  it("is the user's pick while that host is configured", () => {
    const hosts = [
      { name: 'This machine', snapshot: sampled('This machine') },
      { name: 'lab', snapshot: undefined },
    ];
    assert.deepEqual(gaugeTarget(hosts, { host: 'lab', gpu: 'GPU-1' }), { host: 'lab', gpu: 'GPU-1', pinned: true });
    assert.deepEqual(gaugeTarget(hosts, { host: 'gone', gpu: 'GPU-1' }), { host: 'This machine', pinned: false });
  });

  it('shows the picked GPU by UUID or index, the first when it is gone, and names a remote host', () => {
    const gpus = [gpu(0, 1024, 2048), { ...gpu(1, 512, 2048), uuid: 'GPU-b' }];
    const result: ProbeResult = { kind: 'gpus', host: 'lab', gpus, problems: [], at: 0 };
    assert.equal(gpuKey(gpus[0]!), '#0');
    assert.equal(gaugeView(result, thresholds, 'GPU-b')!.text, '$(chip) 0.5/2.0 GiB · GPU 1 · lab');
    assert.equal(gaugeView(result, thresholds, 'GPU-b')!.accessibleLabel, 'GPU 1 on lab memory: 0.5 of 2.0 GiB used');
    assert.equal(gaugeView(result, thresholds, '#0')!.text, '$(chip) 1.0/2.0 GiB · GPU 0 · lab');
    assert.equal(gaugeView(result, thresholds, 'GPU-gone')!.text, '$(chip) 1.0/2.0 GiB · GPU 0 · lab');
    const single: ProbeResult = { ...result, gpus: [gpus[1]!] };
    assert.equal(gaugeView(single, thresholds)!.text, '$(chip) 0.5/2.0 GiB · lab', 'one GPU: the host says which');
    const cosplayed = gaugeView(result, thresholds, 'GPU-b', () => ({ target: 'GeForce RTX 3090', vramMiB: 1024 }))!;
    assert.equal(cosplayed.text, '$(chip) 0.5/1.0 GiB · GeForce RTX 3090 · GPU 1 · lab');
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
