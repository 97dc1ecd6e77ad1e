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

interface Command {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** Wall-clock and CPU medians in ms (CPU null where it could not be read). */
interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number | null;
}

// Each command's CPU time (user + system, its own and that of what it waited for) from wait4's rusage,
// exact where Node's spawnSync reports none; medians in ms, runs interleaved as timeInterleaved's.
const CPU_TIMER = `
import json, os, sys
commands, runs = json.loads(sys.argv[1]), int(sys.argv[2])
null = os.open(os.devnull, os.O_WRONLY)
cpu = [[] for _ in commands]
for i in range(runs + 1):
    for c, (argv, env) in enumerate(commands):
        pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
        usage = os.wait4(pid, 0)[2]
        if i:
            cpu[c].append((usage.ru_utime + usage.ru_stime) * 1000)
print(json.dumps([sorted(s)[len(s) // 2] for s in cpu]))
`;

function cpuMedians(commands: readonly Command[], runs: number, py: string): (number | null)[] {
  const done = spawnSync(py, ['-c', CPU_TIMER, JSON.stringify(commands.map((c) => [c.argv, c.env])), String(runs)], {
    encoding: 'utf8',
  });
  return done.status === 0 ? (JSON.parse(done.stdout) as number[]) : commands.map(() => null);
}

/**
 * Every command `runs` times (after one warm-up round), interleaved — one run of each in turn — so
 * that a change of load on the machine falls on all of them alike and their ratio stays fair; then
 * their CPU time the same way.
 */
function timeInterleaved(commands: readonly Command[], runs: number, py: string): Timing[] {
  const walls = commands.map(() => [] as number[]);
  for (let i = 0; i <= runs; i++) {
    commands.forEach(({ argv, env }, c) => {
      const start = process.hrtime.bigint();
      const done = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const wall = Number(process.hrtime.bigint() - start) / 1e6;
      if (done.status !== 0) throw new Error(`${argv.join(' ')} failed: ${done.stderr.toString()}`);
      if (i > 0) walls[c]!.push(wall);
    });
  }
  const cpu = cpuMedians(commands, runs, py);
  return walls.map((samples, c) => {
    samples.sort((a, b) => a - b);
    return { wallMs: samples[Math.floor(samples.length / 2)]!, cpuMs: cpu[c] ?? null };
  });
}

function line(label: string, t: Timing): void {
  const cpu = t.cpuMs === null ? 'n/a' : `${t.cpuMs.toFixed(1)} ms`;
  console.log(`  ${label.padEnd(52)} ${t.wallMs.toFixed(1).padStart(8)} ms wall ${cpu.padStart(9)} cpu`);
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
  const [direct, shimmed, bare] = timeInterleaved(
    [
      { argv: [path.join(fakeDir, 'nvidia-smi')], env: base },
      {
        argv: [path.join(root, 'shim/bin/nvidia-smi')],
        env: { ...base, ...TARGET, PATH: `${path.join(root, 'shim/bin')}:${pythonDir}:${base.PATH}` },
      },
      { argv: [py, '-I', '-S', '-c', 'pass'], env: base },
    ],
    runs,
    py,
  ) as [Timing, Timing, Timing];
  const cpuOver =
    direct.cpuMs === null || shimmed.cpuMs === null ? '' : `, ${(shimmed.cpuMs - direct.cpuMs).toFixed(1)} ms cpu`;
  console.log(`(${py}; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs)`);
  console.log('S1 shim nvidia-smi (8-GPU table, rewritten) over a fake real binary that prints it');
  line('naive: the real binary alone', direct);
  line('ours : shim/bin/nvidia-smi → real binary → rewrite', shimmed);
  line('floor: python3 -I -S -c pass (interpreter start)', bare);
  console.log(
    `  overhead: ${(shimmed.wallMs - direct.wallMs).toFixed(1)} ms wall per call (goal ≤ 10 ms)${cpuOver}, ` +
      `${(shimmed.wallMs / direct.wallMs).toFixed(1)}x the real binary's wall time in the same run; ` +
      `${(shimmed.wallMs - direct.wallMs - bare.wallMs).toFixed(1)} ms beyond the interpreter starting\n`,
  );

  const withShim = { ...base, PYTHONPATH: path.join(root, 'shim') };
  const [plain, idle, active] = timeInterleaved(
    [
      { argv: [py, '-c', 'pass'], env: base },
      { argv: [py, '-c', 'pass'], env: withShim },
      { argv: [py, '-c', 'pass'], env: { ...withShim, ...TARGET } },
    ],
    runs,
    py,
  ) as [Timing, Timing, Timing];
  console.log('S2 runtime hook at interpreter start (sitecustomize)');
  line('naive: python3 -c pass', plain);
  line('ours : with the shim, no GPUDEV_* (does nothing)', idle);
  line('ours : with the shim and a target (finder installed)', active);
  console.log(
    `  overhead: ${(idle.wallMs - plain.wallMs).toFixed(1)} ms idle, ${(active.wallMs - plain.wallMs).toFixed(1)} ms active (goal ≤ 5 ms)\n`,
  );
  fs.rmSync(fakeDir, { recursive: true, force: true });
}
