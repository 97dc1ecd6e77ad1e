import * as assert from 'node:assert/strict';
import { silentLogger } from '../../src/core/errors';
import type { GpusResult, ProbeResult } from '../../src/hosts/gpuProbe';
import type { GpuStreamHandlers } from '../../src/hosts/gpuStream';
import {
  STREAM_CHECK_EVERY,
  GpuMonitor,
  MAX_FAILED_STREAMS,
  MAX_RETRY_MS,
  UNFOCUSED_SLOWDOWN,
  type Timers,
} from '../../src/monitor/gpuMonitor';

/** Timers driven by hand: `fire()` runs the pending callback and says after how long it was due. */
class ManualTimers implements Timers {
  pending: { callback: () => void; ms: number } | undefined;
  setTimeout(callback: () => void, ms: number) {
    this.pending = { callback, ms };
    return this.pending;
  }
  clearTimeout(handle: unknown) {
    if (handle === this.pending) this.pending = undefined;
  }
  async fire(): Promise<number> {
    const due = this.pending!;
    this.pending = undefined;
    due.callback();
    await new Promise((resolve) => setImmediate(resolve));
    return due.ms;
  }
}

const gpus: ProbeResult = { kind: 'gpus', host: 'h', gpus: [], problems: [], at: 0 };
const noDriver: ProbeResult = { kind: 'no-driver', host: 'h', error: { message: 'none' }, at: 0 };

function setup(results: ProbeResult[] = [gpus]) {
  const timers = new ManualTimers();
  let probes = 0;
  const monitor = new GpuMonitor(
    () => Promise.resolve(results[Math.min(probes++, results.length - 1)]!),
    1000,
    silentLogger,
    { timers },
  );
  return { monitor, timers, probes: () => probes };
}

describe('GpuMonitor', () => {
  it('samples nothing until someone watches', () => {
    const { timers } = setup();
    assert.equal(timers.pending, undefined);
  });

  it('samples at once when watched, then at the interval, and notifies listeners', async () => {
    const { monitor, timers, probes } = setup();
    const seen: ProbeResult[] = [];
    monitor.onDidChange((r) => seen.push(r));
    monitor.setWatched(true);
    assert.equal(await timers.fire(), 0);
    assert.equal(await timers.fire(), 1000);
    assert.equal(probes(), 2);
    assert.equal(seen.length, 2);
    assert.equal(monitor.snapshot, gpus);
  });

  it(`samples ${UNFOCUSED_SLOWDOWN}x slower while the window is not focused, and at once on focus`, async () => {
    const { monitor, timers } = setup();
    monitor.setWatched(true);
    await timers.fire();
    monitor.setFocused(false);
    assert.equal(timers.pending!.ms, 1000 * UNFOCUSED_SLOWDOWN);
    monitor.setFocused(true);
    assert.equal(timers.pending!.ms, 0);
  });

  it('stops when nobody watches', async () => {
    const { monitor, timers } = setup();
    monitor.setWatched(true);
    await timers.fire();
    monitor.setWatched(false);
    assert.equal(timers.pending, undefined);
  });

  it('does not poll a host without a driver again until refresh', async () => {
    const { monitor, timers, probes } = setup([noDriver, gpus]);
    monitor.setWatched(true);
    await timers.fire();
    assert.equal(timers.pending, undefined);
    assert.equal((await monitor.refresh()).kind, 'gpus');
    assert.equal(probes(), 2);
    assert.equal(timers.pending!.ms, 1000);
  });

  it(`retries a failing host at twice the delay each time, up to ${MAX_RETRY_MS / 1000} s, and at the interval once it answers`, async () => {
    const down: ProbeResult = { kind: 'error', host: 'h', error: { message: 'Cannot reach h' }, at: 0 };
    const { monitor, timers } = setup([down, down, down, down, down, down, down, gpus]);
    monitor.setWatched(true);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) delays.push(await timers.fire());
    assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.equal(timers.pending!.ms, 1000);
  });

  it('joins a probe already under way instead of starting a second one', async () => {
    const { monitor, probes } = setup();
    const [a, b] = await Promise.all([monitor.refresh(), monitor.refresh()]);
    assert.equal(a, b);
    assert.equal(probes(), 1);
  });

  it('refreshAfterCurrent starts a new probe after one under way', async () => {
    const { monitor, probes } = setup();
    const first = monitor.refresh();
    await monitor.refreshAfterCurrent();
    await first;
    assert.equal(probes(), 2);
  });

  it('setting the interval it already has keeps the pending timer', async () => {
    const { monitor, timers } = setup();
    monitor.setWatched(true);
    await timers.fire();
    const pending = timers.pending;
    monitor.setIntervalMs(1000);
    assert.equal(timers.pending, pending);
  });

  it('a new interval takes effect for the next sample', async () => {
    const { monitor, timers } = setup();
    monitor.setWatched(true);
    await timers.fire();
    monitor.setIntervalMs(5000);
    assert.equal(timers.pending!.ms, 5000);
  });

  describe('streaming', () => {
    const sample = (at: number): GpusResult => ({ kind: 'gpus', host: 'h', gpus: [], problems: [], at });

    function streamingSetup(results: ProbeResult[] = [gpus], wantsProcesses = () => true) {
      const timers = new ManualTimers();
      let probes = 0;
      const streams: Array<{ intervalMs: number; handlers: GpuStreamHandlers; stopped: boolean }> = [];
      const startStream = (intervalMs: number, _expected: number, handlers: GpuStreamHandlers) => {
        const stream = { intervalMs, handlers, stopped: false };
        streams.push(stream);
        return {
          stop: () => {
            stream.stopped = true;
          },
        };
      };
      const freshGiven: Array<ProbeResult | undefined> = [];
      const probe = (fresh?: GpusResult) => {
        freshGiven.push(fresh);
        return Promise.resolve(results[Math.min(probes++, results.length - 1)]!);
      };
      const monitor = new GpuMonitor(probe, 1000, silentLogger, { timers, startStream, wantsProcesses });
      return { monitor, timers, streams, probes: () => probes, freshGiven };
    }

    it('after a good probe, samples stream at the interval; processes are read for the latest sample every few intervals', async () => {
      const { monitor, timers, streams, probes, freshGiven } = streamingSetup();
      const seen: ProbeResult[] = [];
      monitor.onDidChange((r) => seen.push(r));
      monitor.setWatched(true);
      await timers.fire();
      assert.equal(streams.length, 1);
      assert.equal(streams[0]!.intervalMs, 1000);
      assert.equal(monitor.streaming, true);
      assert.equal(timers.pending!.ms, 1000 * STREAM_CHECK_EVERY);
      streams[0]!.handlers.onSample(sample(1));
      streams[0]!.handlers.onSample(sample(2));
      assert.deepEqual(
        seen.map((r) => r.at),
        [0, 1, 2],
      );
      assert.equal(probes(), 1);
      streams[0]!.handlers.onSample(sample(Date.now()));
      await timers.fire();
      assert.equal(probes(), 2);
      assert.equal(freshGiven[1]?.at, seen[seen.length - 2]!.at, 'the probe was given the streamed sample');
      assert.equal(streams.length, 1, 'the probe keeps the stream');
    });

    it('without processes to show, no full probe runs while samples keep coming; a stream gone quiet is probed', async () => {
      const { monitor, timers, streams, probes } = streamingSetup([gpus], () => false);
      monitor.setWatched(true);
      await timers.fire();
      streams[0]!.handlers.onSample(sample(Date.now()));
      assert.equal(await timers.fire(), 1000 * STREAM_CHECK_EVERY);
      assert.equal(probes(), 1, 'fresh samples: nothing to probe');
      streams[0]!.handlers.onSample(sample(Date.now() - 10_000));
      await timers.fire();
      assert.equal(probes(), 2, 'quiet stream: probed');
    });

    it('restarts the stream at the slower pace when the window loses focus, and stops it when nobody watches', async () => {
      const { monitor, timers, streams } = streamingSetup();
      monitor.setWatched(true);
      await timers.fire();
      monitor.setFocused(false);
      assert.equal(streams[0]!.stopped, true);
      assert.equal(streams[1]!.intervalMs, 1000 * UNFOCUSED_SLOWDOWN);
      monitor.setWatched(false);
      assert.equal(streams[1]!.stopped, true);
      assert.equal(timers.pending, undefined);
    });

    it('pause stops the stream and every timer until each pause is resumed (a MIG mode change under way)', async () => {
      const { monitor, timers, streams } = streamingSetup();
      monitor.setWatched(true);
      await timers.fire();
      const resumeOne = monitor.pause();
      const resumeTwo = monitor.pause();
      assert.equal(streams[0]!.stopped, true);
      assert.equal(timers.pending, undefined);
      resumeOne();
      resumeOne();
      assert.equal(streams.length, 1, 'still paused by the other');
      resumeTwo();
      assert.equal(streams.length, 2, 'streaming again');
      assert.equal(streams[1]!.stopped, false);
    });

    it('a stream that ends is followed by a probe at once, then a new stream', async () => {
      const { monitor, timers, streams, probes } = streamingSetup();
      monitor.setWatched(true);
      await timers.fire();
      streams[0]!.handlers.onSample(sample(1));
      streams[0]!.handlers.onEnd(
        { exitCode: null, stdout: '', stderr: '', failure: { message: 'Lost the connection' } },
        1,
      );
      assert.equal(monitor.streaming, false);
      assert.equal(await timers.fire(), 0);
      assert.equal(probes(), 2);
      assert.equal(streams.length, 2);
    });

    it(`polls for good after ${MAX_FAILED_STREAMS} streams that end before their first sample (nvidia-smi without -lms)`, async () => {
      const { monitor, timers, streams } = streamingSetup();
      monitor.setWatched(true);
      await timers.fire();
      for (let i = 0; i < MAX_FAILED_STREAMS; i++) {
        streams[i]!.handlers.onEnd({ exitCode: 2, stdout: '', stderr: 'Invalid combination of input arguments' }, 0);
        await timers.fire();
      }
      assert.equal(streams.length, MAX_FAILED_STREAMS);
      assert.equal(monitor.streaming, false);
      assert.equal(timers.pending!.ms, 1000, 'one probe per interval, as without streaming');
    });

    it('a probe that fails stops the stream; polling reports the host until it answers again', async () => {
      const failing: ProbeResult = { kind: 'error', host: 'h', error: { message: 'Cannot reach h' }, at: 5 };
      const { monitor, timers, streams } = streamingSetup([gpus, failing, gpus]);
      monitor.setWatched(true);
      await timers.fire();
      await timers.fire();
      assert.equal(streams[0]!.stopped, true);
      assert.equal(timers.pending!.ms, 1000);
      await timers.fire();
      assert.equal(streams.length, 2);
    });

    it('samples of a stream that was replaced are ignored', async () => {
      const { monitor, timers, streams } = streamingSetup();
      const seen: ProbeResult[] = [];
      monitor.setWatched(true);
      await timers.fire();
      monitor.onDidChange((r) => seen.push(r));
      monitor.setFocused(false);
      streams[0]!.handlers.onSample(sample(9));
      streams[0]!.handlers.onEnd({ exitCode: null, stdout: '', stderr: '' }, 1);
      assert.deepEqual(seen, []);
      assert.equal(streams.length, 2);
    });
  });
});
