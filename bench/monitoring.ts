import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { probeGpus } from '../src/hosts/gpuProbe';
import { streamGpus } from '../src/hosts/gpuStream';
import { monitorQueryArgs } from '../src/hosts/nvidiaSmi/queryCsv';
import { SshRunner } from '../src/hosts/sshRunner';
import { silentLogger } from '../src/core/errors';
import { GpuMonitor, type StartStream } from '../src/monitor/gpuMonitor';
import { startSshd, stopSshd, type Sshd, type SshdOptions } from '../test/integration/sshd';

const HOSTS = 32;
const INTERVAL_MS = 1000;
const SSHD: SshdOptions = { dir: '/tmp/gpudev-bench-sshd', port: 2224 };

// The bench host's nvidia-smi: 8 GPUs from a fixed CSV. With -lms it writes each tick on a multiple
// of the interval by the wall clock, so the arrival time of a sample tells its latency.
const FAKE_SMI = `#!/bin/sh
DIR=$(dirname "$0")
case " $* " in
  *" -lms "*) exec python3 "$DIR/stream.py" "$@" ;;
  *--query-compute-apps*) exit 0 ;;
  *) cat "$DIR/sample.csv" ;;
esac
`;
const STREAM_PY = `import sys, time
ms = int(sys.argv[sys.argv.index('-lms') + 1])
frame = open(__file__.replace('stream.py', 'sample.csv'), 'rb').read()
while True:
    now = time.time() * 1000
    time.sleep(((now // ms + 1) * ms - now) / 1000)
    sys.stdout.buffer.write(frame)
    sys.stdout.flush()
`;

function fakeHostBin(csv: string): string {
  const dir = '/tmp/gpudev-bench-smi';
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'nvidia-smi'), FAKE_SMI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'stream.py'), STREAM_PY);
  fs.writeFileSync(path.join(dir, 'sample.csv'), `${csv}\n`);
  return dir;
}

/** CPU seconds of this process, and of the children it has waited for (`ssh` clients), from /proc. */
function cpuSeconds(): { self: number; children: number } {
  const fields = fs
    .readFileSync('/proc/self/stat', 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  const ticks = 100; // USER_HZ on Linux
  const usage = process.cpuUsage();
  return { self: (usage.user + usage.system) / 1e6, children: (Number(fields[13]) + Number(fields[14])) / ticks };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const wallMs = () => performance.timeOrigin + performance.now();

/** Median round trip of a 1-byte ping over loopback TCP. */
async function loopbackRttMs(): Promise<number> {
  const server = net.createServer((socket) => socket.on('data', (data) => socket.write(data)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const rtts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve());
      socket.write('x');
    });
    rtts.push(performance.now() - start);
  }
  socket.destroy();
  server.close();
  return median(rtts);
}

/**
 * Ours: one ssh2 connection per host, samples streamed by one `nvidia-smi -lms` channel each, through
 * the product's monitor; `processes` as with the GPUs view open (a full probe every fifth interval).
 */
async function measureOurs(sshd: Sshd, seconds: number, processes: boolean) {
  const knownHosts = `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`;
  const latencies: number[] = [];
  let samples = 0;
  let measuring = false;
  const hosts = Array.from({ length: HOSTS }, (_, i) => {
    const runner = new SshRunner({
      label: `host-${i}`,
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([knownHosts]),
    });
    const startStream: StartStream = (ms, expected, handlers) =>
      streamGpus(runner, ms, expected, {
        ...handlers,
        onSample: (result) => {
          handlers.onSample(result);
          if (measuring) {
            samples++;
            latencies.push(wallMs() % ms);
          }
        },
      });
    const monitor = new GpuMonitor((fresh) => probeGpus(runner, { processes, fresh }), INTERVAL_MS, silentLogger, {
      startStream,
      wantsProcesses: () => processes,
    });
    monitor.setWatched(true);
    return { runner, monitor };
  });
  while (!hosts.every((h) => h.monitor.streaming)) await sleep(100);
  await sleep(2 * INTERVAL_MS);
  measuring = true;
  const start = cpuSeconds();
  const started = performance.now();
  await sleep(seconds * 1000);
  const cpu = cpuSeconds().self - start.self;
  const wall = (performance.now() - started) / 1000;
  measuring = false;
  hosts.forEach(({ runner, monitor }) => {
    monitor.dispose();
    runner.close();
  });
  return { cpu, wall, samples, latencies };
}

/** Naive: every tick, `ssh host nvidia-smi --query-gpu=…` per host (a new process and SSH handshake each time). */
async function measureSpawnPerPoll(sshd: Sshd, seconds: number) {
  const knownHostsFile = path.join(sshd.dir, 'bench_known_hosts');
  fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  const argv = [
    '-F',
    'none',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-i',
    path.join(sshd.dir, 'client_key'),
    '-p',
    String(sshd.port),
    `${sshd.user}@127.0.0.1`,
    'nvidia-smi',
    ...monitorQueryArgs(),
  ];
  let samples = 0;
  let failures = 0;
  const start = cpuSeconds();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const poll = async (): Promise<void> => {
    for (
      let tick = Math.ceil(wallMs() / INTERVAL_MS) * INTERVAL_MS;
      performance.now() < deadline;
      tick += INTERVAL_MS
    ) {
      await sleep(Math.max(0, tick - wallMs()));
      if (performance.now() >= deadline) break;
      const ok = await new Promise<boolean>((resolve) =>
        execFile('ssh', argv, { encoding: 'utf8' }, (error, stdout) =>
          resolve(!error && stdout.split('\n').length > 8),
        ),
      );
      if (ok) samples++;
      else failures++;
      if (wallMs() > tick + INTERVAL_MS) tick = Math.floor(wallMs() / INTERVAL_MS) * INTERVAL_MS; // fell behind: skip ticks
    }
  };
  await Promise.all(Array.from({ length: HOSTS }, () => poll()));
  const end = cpuSeconds();
  return {
    cpu: end.self - start.self + end.children - start.children,
    wall: (performance.now() - started) / 1000,
    samples,
    failures,
  };
}

export async function monitoringBenchmark(csv: string, seconds: number): Promise<void> {
  const sshd = startSshd({ ...SSHD, fakeBin: fakeHostBin(csv) });
  try {
    const rtt = await loopbackRttMs();
    const ours = await measureOurs(sshd, seconds, false);
    const withView = await measureOurs(sshd, seconds, true);
    const naive = await measureSpawnPerPoll(sshd, seconds);
    const oursPerSample = (ours.cpu / ours.samples) * 1000;
    const naivePerSample = (naive.cpu / naive.samples) * 1000;
    const latency = median(ours.latencies);
    console.log(
      `P1 monitoring: ${HOSTS} SSH hosts × 8 GPUs sampled every ${INTERVAL_MS / 1000} s for ${seconds} s (one loopback sshd, ${HOSTS} connections)`,
    );
    console.log(
      `  ours : ssh2, one connection per host, nvidia-smi -lms streams   ${oursPerSample.toFixed(3).padStart(8)} ms CPU per sample (${ours.samples} samples)`,
    );
    console.log(
      `  ours : the same with the GPUs view open (processes every 5 s) ${((withView.cpu / withView.samples) * 1000).toFixed(3).padStart(8)} ms CPU per sample, ${((100 * withView.cpu) / withView.wall).toFixed(2)}% of one core`,
    );
    console.log(
      `  naive: spawn \`ssh host nvidia-smi --query-gpu…\` per host per tick ${naivePerSample.toFixed(3).padStart(8)} ms CPU per sample (${naive.samples} samples${naive.failures ? `, ${naive.failures} failed` : ''}; ssh clients included)`,
    );
    console.log(`  ratio: ${(naivePerSample / oursPerSample).toFixed(0)}x less CPU than spawn-per-poll (goal ≥ 20x)`);
    console.log(
      `  load : ${((100 * ours.cpu) / ours.wall).toFixed(2)}% of one core for all ${HOSTS} hosts (goal ≤ 1%)`,
    );
    console.log(
      `  latency: median ${latency.toFixed(2)} ms, p95 ${percentile(ours.latencies, 0.95).toFixed(2)} ms from the host writing a sample to the monitor publishing it; loopback RTT ${rtt.toFixed(3)} ms (goal ≤ 5 ms over RTT)\n`,
    );
  } finally {
    stopSshd(SSHD);
  }
}
