import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot as root } from '../test/unit/fixtures';

const PY = '/usr/bin/python3';
const TARGET = {
  GPUDEV_TARGET: 'rtx3090',
  GPUDEV_TARGET_NAME: 'NVIDIA GeForce RTX 3090',
  GPUDEV_VRAM_BYTES: String(24 * 1024 ** 3),
  GPUDEV_SM_COUNT: '82',
  GPUDEV_COMPUTE_CAP: '8.6',
  GPUDEV_TENSOR: 'bf16,fp16,tf32',
};

/** Wall-clock milliseconds of one `python3 -c 'import torch'`. */
function importMs(env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const done = spawnSync(PY, ['-c', 'import torch'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (done.status !== 0) throw new Error(`import torch failed: ${done.stderr.toString()}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (samples: number[]): number => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

/**
 * S3: `import torch` (Debian's python3-torch) with the runtime hook active against the same import without
 * the shim, interleaved in one run so that load on the machine hits both alike.
 */
export function torchImportBenchmark(runs = 9): void {
  console.log("S3 runtime hook over the real `import torch` (Debian's python3-torch)");
  if (spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    console.log('  skipped: /usr/bin/python3 cannot import torch (test/infra/torch.sh installs python3-torch)\n');
    return;
  }
  const plainEnv = { ...process.env, PYTHONPATH: '' };
  const hookEnv = { ...process.env, ...TARGET, PYTHONPATH: path.join(root, 'shim') };
  const probe = "import torch; print(hasattr(torch.cuda.get_device_name, '_gpudev_wrapped'))";
  const active = spawnSync(PY, ['-c', probe], { env: hookEnv, encoding: 'utf8' }).stdout.trim();
  if (active !== 'True')
    throw new Error(`the hook did not patch torch (${active}): is ${hookEnv.PYTHONPATH} the shim?`);
  importMs(plainEnv);
  const plain: number[] = [];
  const hooked: number[] = [];
  // ABBA order: whichever runs second in a pair finds the files the first one read in the page cache.
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) plain.push(importMs(plainEnv));
    hooked.push(importMs(hookEnv));
    if (i % 2 === 1) plain.push(importMs(plainEnv));
  }
  const [naive, ours] = [median(plain), median(hooked)];
  console.log(`  naive: python3 -c 'import torch'                     ${naive.toFixed(1).padStart(8)} ms`);
  console.log(`  ours : the same with the shim and a target (patched)  ${ours.toFixed(1).padStart(8)} ms`);
  console.log(
    `  ratio: ${(ours / naive).toFixed(3)}x (${(ours - naive).toFixed(1)} ms), medians of ${runs} interleaved runs`,
  );
  // The hook's own work without the noise of a 1-3 s import: importing the patch code and patching an
  // already imported torch in place, timed inside the interpreter.
  const code = [
    'import sys, time, torch',
    `sys.path.insert(0, ${JSON.stringify(path.join(root, 'shim'))})`,
    'from gpudev_shim.hook import install',
    't = time.perf_counter()',
    'assert install() is not None',
    'print((time.perf_counter() - t) * 1e3)',
  ].join('\n');
  const ownMs = (): number => {
    const done = spawnSync(PY, ['-c', code], { env: { ...process.env, ...TARGET, PYTHONPATH: '' }, encoding: 'utf8' });
    if (done.status !== 0) throw new Error(`timing install() failed: ${done.stderr}`);
    return Number(done.stdout);
  };
  const own = median(Array.from({ length: 5 }, ownMs));
  console.log(
    `  own  : install() patching an imported torch            ${own.toFixed(2).padStart(8)} ms (median of 5)\n`,
  );
}
