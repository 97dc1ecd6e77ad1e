import * as assert from 'node:assert/strict';
import { main } from '../../src/cli';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

describe('gpudev CLI', () => {
  it('plan prints the fidelity table, the host changes and the line that reproduces it', async () => {
    const { code, out, err } = await cli('plan', 'RTX 3090', '--host', 'h100-sxm');
    assert.equal(code, 0, err);
    assert.match(out, /^Cosplay NVIDIA GeForce RTX 3090 on NVIDIA H100 80GB HBM3: MIG 4g\.40gb \(64 SMs\)/);
    assert.match(out, /\nVRAM +24\.0 GiB +24\.0 GiB +1\.00x +matches\n/);
    assert.match(out, /nvidia-smi mig -i \{gpu\} -cgi 5:0 -C/);
    assert.match(out, /Other strategies: mps \(FP32 35\.7 TFLOPS\); memory \(FP32 66\.9 TFLOPS, too fast\)/);
    assert.match(out, /\nReproduce: gpudev plan rtx3090 --host h100-sxm\n$/);
  });

  it('plan --json is the whole plan', async () => {
    const { code, out } = await cli(
      'plan',
      'rtx3090',
      '--host',
      'h100-sxm',
      '--strategy',
      'mps',
      '--num',
      '2',
      '--json',
    );
    assert.equal(code, 0);
    const plan = JSON.parse(out) as { chosen: { strategy: string }; container: { env: Record<string, string> } };
    assert.equal(plan.chosen.strategy, 'mps');
    assert.equal(plan.container.env.CUDA_MPS_PINNED_DEVICE_MEM_LIMIT, '0=24576M,1=24576M');
  });

  it('plan errors: unknown GPU with did-you-mean (2), refusal (1), bad options (2)', async () => {
    assert.deepEqual(await cli('plan', 'rtx 3099', '--host', 'h100'), {
      code: 2,
      out: '',
      err: 'gpudev plan: Unknown GPU "rtx 3099": did you mean rtx3090, rtx3060, rtx3070?\n',
    });
    const refused = await cli('plan', 'rtx3090', '--host', 't4');
    assert.equal(refused.code, 1);
    assert.equal(
      refused.err,
      'gpudev plan: NVIDIA GeForce RTX 3090 needs 24 GiB; host Tesla T4 has 15 GiB: pick a host with more memory\n',
    );
    assert.match(
      (await cli('plan', 'rtx3090', '--host', 'h100', '--strategy', 'fast')).err,
      /--strategy must be one of mig, mps, memory, not fast/,
    );
    assert.match((await cli('plan', 'rtx3090')).err, /usage: gpudev plan/);
    assert.match((await cli('plan', 'rtx3090', '--host')).err, /--host needs a value/);
  });

  it('catalog lists every entry; unknown commands and options are usage errors', async () => {
    const { code, out } = await cli('catalog');
    assert.equal(code, 0);
    assert.match(out, /^key +name +SMs/);
    assert.match(out, /\nrtx3090 +NVIDIA GeForce RTX 3090 +82 +24\.0 +35\.6 +71\.0 +71\.0 +35\.6 +— +350\n/);
    assert.equal((await cli('frobnicate')).code, 2);
    assert.match((await cli('catalog', '--yaml')).err, /unknown option --yaml/);
  });
});
