import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { silentLogger } from '../../src/core/errors';
import { probeGpus, type ProbeResult } from '../../src/hosts/gpuProbe';
import { streamGpus } from '../../src/hosts/gpuStream';
import { LocalRunner, type Runner } from '../../src/hosts/runner';
import { SshRunner } from '../../src/hosts/sshRunner';
import { GpuMonitor } from '../../src/monitor/gpuMonitor';
import { repoRoot } from '../unit/fixtures';
import { startSshd, stopSshd, type Sshd } from './sshd';

/** Resolves when `condition` holds, checking at every sample; fails after `limitMs` with what was seen. */
function until(monitor: GpuMonitor, condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (condition()) return resolve();
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`never saw ${what}; last: ${JSON.stringify(monitor.snapshot)?.slice(0, 300)}`));
    }, limitMs);
    const stop = monitor.onDidChange(() => {
      if (!condition()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

function streamingMonitor(runner: Runner, intervalMs: number): GpuMonitor {
  return new GpuMonitor(() => probeGpus(runner), intervalMs, silentLogger, {
    startStream: (ms, expected, handlers) => streamGpus(runner, ms, expected, handlers),
  });
}

describe('GPU samples streamed by nvidia-smi -lms', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  const cleanup: Array<() => void> = [];
  before(() => {
    sshd = startSshd();
  });
  after(() => {
    cleanup.forEach((step) => step());
    stopSshd();
  });

  it('locally: one long-lived nvidia-smi gives a sample per tick', async () => {
    const fakeBin = path.join(repoRoot, 'lab/fake-gpu/bin');
    const runner = new LocalRunner({
      ...process.env,
      PATH: `${fakeBin}:${process.env.PATH}`,
      GPUDEV_FAKE_SMI_SCENARIO: 'default-rtxa6000-x4-535.129.03-procs',
    });
    const samples: ProbeResult[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = streamGpus(runner, 100, 4, {
        onSample: (r) => {
          samples.push(r);
          if (samples.length === 3) resolve();
        },
        onEnd: (end) => reject(new Error(`the stream ended before its third sample: ${end.stderr}`)),
      })!;
      cleanup.push(() => stream.stop());
    });
    for (const sample of samples)
      assert.deepEqual(sample.kind === 'gpus' && sample.gpus.map((g) => g.name), Array(4).fill('NVIDIA RTX A6000'));
  });

  it('over SSH: streams on one channel, survives sshd being killed mid-stream, and streams again once it is back', async () => {
    const runner = new SshRunner({
      label: 'gpu-box',
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
      env: { GPUDEV_FAKE_SMI_SCENARIO: 'default-h100-x8-570.133.20' },
    });
    const monitor = streamingMonitor(runner, 200);
    cleanup.push(() => {
      monitor.dispose();
      runner.close();
    });
    let streamed = 0;
    monitor.onDidChange((r) => {
      if (monitor.streaming && r.kind === 'gpus') streamed++;
    });
    monitor.setWatched(true);
    await until(monitor, () => streamed >= 3, 'three streamed samples');
    assert.equal(monitor.snapshot?.kind === 'gpus' && monitor.snapshot.gpus.length, 8);

    stopSshd();
    await until(monitor, () => monitor.snapshot?.kind === 'error', 'the host reported unreachable');
    assert.equal(monitor.streaming, false);
    assert.match(monitor.snapshot?.kind === 'error' ? monitor.snapshot.error.message : '', /gpu-box/);

    startSshd();
    streamed = 0;
    await until(monitor, () => streamed >= 2, 'samples streamed again after the host came back');
    assert.equal(monitor.lastGood?.gpus.length, 8);
  });
});
