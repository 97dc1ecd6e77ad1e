import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot as root, smiFixtureDir } from '../test/unit/fixtures';

const TARGET = {
  GPUDEV_TARGET: 'rtx3090',
  GPUDEV_TARGET_NAME: 'NVIDIA GeForce RTX 3090',
  GPUDEV_VRAM_BYTES: String(24 * 1024 ** 3),
  GPUDEV_TDP_W: '350',
};

/** Median wall-clock milliseconds of running a command `runs` times (after one warm-up run). */
function medianMs(argv: string[], env: NodeJS.ProcessEnv, runs: number): number {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const start = process.hrtime.bigint();
    const done = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (done.status !== 0) throw new Error(`${argv.join(' ')} failed: ${done.stderr.toString()}`);
    if (i > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function line(label: string, ms: number): void {
  console.log(`  ${label.padEnd(52)} ${ms.toFixed(1).padStart(8)} ms`);
}

/**
 * Every distinct interpreter here: Debian's (what a Debian-based image runs) and the one on PATH, by its
 * real path rather than a version manager's wrapper script. Their start-up costs differ a lot.
 */
function interpreters(): string[] {
  const onPath = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  return [
    ...new Set(['/usr/bin/python3', onPath].filter((py) => py && fs.existsSync(py)).map((py) => fs.realpathSync(py))),
  ];
}

export function shimBenchmarks(runs = 25): void {
  for (const py of interpreters()) shimBenchmarksWith(py, runs);
}

function shimBenchmarksWith(py: string, runs: number): void {
  const fakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-bench-'));
  const fixture = path.join(smiFixtureDir, 'default-h100-x8-570.133.20.txt');
  fs.writeFileSync(path.join(fakeDir, 'nvidia-smi'), `#!/bin/sh\ncat '${fixture}'\n`, { mode: 0o755 });
  const base = { ...process.env, PATH: `${fakeDir}:${process.env.PATH}` };

  // The shim runs as a container's processes run it, through its own first line, with `python3`
  // being this interpreter.
  const pythonDir = path.join(fakeDir, 'python');
  fs.mkdirSync(pythonDir);
  fs.symlinkSync(py, path.join(pythonDir, 'python3'));
  const direct = medianMs([path.join(fakeDir, 'nvidia-smi')], base, runs);
  const shimmed = medianMs(
    [path.join(root, 'shim/bin/nvidia-smi')],
    { ...base, ...TARGET, PATH: `${path.join(root, 'shim/bin')}:${pythonDir}:${base.PATH}` },
    runs,
  );
  const bare = medianMs([py, '-I', '-S', '-c', 'pass'], base, runs);
  console.log(`(${py})`);
  console.log('S1 shim nvidia-smi (8-GPU table, rewritten) over a fake real binary that prints it');
  line('naive: the real binary alone', direct);
  line('ours : shim/bin/nvidia-smi → real binary → rewrite', shimmed);
  line('floor: python3 -I -S -c pass (interpreter start)', bare);
  console.log(
    `  overhead: ${(shimmed - direct).toFixed(1)} ms per call (goal ≤ 10 ms), ` +
      `of which ${(shimmed - direct - bare).toFixed(1)} ms beyond the interpreter starting\n`,
  );

  const plain = medianMs([py, '-c', 'pass'], base, runs);
  const idle = medianMs([py, '-c', 'pass'], { ...base, PYTHONPATH: path.join(root, 'shim') }, runs);
  const active = medianMs([py, '-c', 'pass'], { ...base, ...TARGET, PYTHONPATH: path.join(root, 'shim') }, runs);
  console.log('S2 runtime hook at interpreter start (sitecustomize)');
  line('naive: python3 -c pass', plain);
  line('ours : with the shim, no GPUDEV_* (does nothing)', idle);
  line('ours : with the shim and a target (finder installed)', active);
  console.log(
    `  overhead: ${(idle - plain).toFixed(1)} ms idle, ${(active - plain).toFixed(1)} ms active (goal ≤ 5 ms)\n`,
  );
  fs.rmSync(fakeDir, { recursive: true, force: true });
}
