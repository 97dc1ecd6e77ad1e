import * as assert from 'node:assert/strict';
import type { GpuSample } from '../../src/hosts/gpu';
import type { ProbeResult } from '../../src/hosts/gpuProbe';
import { SampleHistory } from '../../src/monitor/history';

const gpu = (index: number, util: number, used: number): GpuSample => ({
  index,
  uuid: `GPU-${index}`,
  name: 'g',
  memoryUsedMiB: used,
  memoryTotalMiB: 1000,
  utilizationPct: util,
  temperatureC: null,
  powerDrawW: null,
  powerLimitW: null,
  migMode: null,
});
const sample = (host: string, at: number, ...gpus: GpuSample[]): ProbeResult => ({
  kind: 'gpus',
  host,
  gpus,
  problems: [],
  at,
});

describe('SampleHistory', () => {
  it('keeps each GPU of each host as columns, oldest first', () => {
    const history = new SampleHistory(60_000);
    history.record(sample('a', 1000, gpu(0, 10, 100), gpu(1, 20, 200)));
    history.record(sample('a', 2000, gpu(0, 11, 110), gpu(1, 21, 210)));
    history.record(sample('b', 2000, gpu(0, 99, 990)));
    assert.deepEqual(history.of('a', 'GPU-1'), {
      at: [1000, 2000],
      utilizationPct: [20, 21],
      memoryUsedMiB: [200, 210],
      memoryTotalMiB: 1000,
    });
    assert.deepEqual(history.of('b', 'GPU-0')?.utilizationPct, [99]);
    assert.equal(history.of('c', 'GPU-0'), undefined);
  });

  it('forgets samples older than its window', () => {
    const history = new SampleHistory(10_000);
    for (let at = 0; at <= 30_000; at += 1000) history.record(sample('a', at, gpu(0, at / 1000, 0)));
    assert.deepEqual(
      history.of('a', 'GPU-0')?.at,
      Array.from({ length: 11 }, (_, i) => 20_000 + i * 1000),
    );
  });

  it('ignores failures and samples that arrive out of order', () => {
    const history = new SampleHistory();
    history.record(sample('a', 2000, gpu(0, 1, 1)));
    history.record(sample('a', 1500, gpu(0, 2, 2)));
    history.record({ kind: 'error', host: 'a', error: { message: 'down' }, at: 3000 });
    assert.deepEqual(history.of('a', 'GPU-0')?.at, [2000]);
  });

  it('drops hosts no longer configured', () => {
    const history = new SampleHistory();
    history.record(sample('a', 1, gpu(0, 1, 1)));
    history.record(sample('b', 1, gpu(0, 1, 1)));
    history.keepHosts(['b']);
    assert.equal(history.of('a', 'GPU-0'), undefined);
    assert.ok(history.of('b', 'GPU-0'));
  });
});
