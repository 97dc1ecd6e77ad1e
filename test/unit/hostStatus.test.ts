import * as assert from 'node:assert/strict';
import type { ProbeResult } from '../../src/hosts/gpuProbe';
import { hostStatus } from '../../src/monitor/hostStatus';

const good: ProbeResult = { kind: 'gpus', host: 'lab', gpus: [], problems: [], at: 100_000 };
const down: ProbeResult = { kind: 'error', host: 'lab', error: { message: 'Cannot reach lab' }, at: 112_000 };

describe('hostStatus', () => {
  it('a fresh sample lists its GPUs', () => {
    assert.deepEqual(hostStatus(good, good, 100_500, 2000), { shown: good, description: '0 GPUs' });
    assert.deepEqual(hostStatus(undefined, undefined, 0, 2000), { shown: undefined, description: 'connecting…' });
  });

  it('a host that stops answering is stale first, keeping its last GPUs, then disconnected', () => {
    assert.deepEqual(hostStatus(down, good, 112_000, 2000), { shown: down, description: 'disconnected — retrying' });
    assert.deepEqual(hostStatus(down, good, 108_000, 2000), {
      shown: good,
      description: 'stale (last sample 8 s ago)',
    });
    assert.deepEqual(hostStatus(down, good, 112_000, 5000), {
      shown: good,
      description: 'stale (last sample 12 s ago)',
    });
  });

  it('a failure that retrying cannot fix, or one without a good sample before, shows at once', () => {
    const refused: ProbeResult = { ...down, retry: false };
    assert.deepEqual(hostStatus(refused, good, 101_000, 2000), { shown: refused, description: undefined });
    assert.deepEqual(hostStatus(down, undefined, 101_000, 2000), { shown: down, description: undefined });
  });
});
