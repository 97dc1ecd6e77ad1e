import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import type { GpuEntry } from '../../src/catalog/schema';
import { parseMigInstances } from '../../src/hosts/nvidiaSmi/migInstances';
import { planCosplay, type CosplayPlan, type PlanRequest } from '../../src/cosplay/planner';
import { smiFixtures } from './fixtures';

const catalog = builtinCatalog();
function gpu(key: string): GpuEntry {
  const found = catalog.lookup(key);
  assert.ok(found.ok, key);
  return found.entry;
}
function plan(request: Omit<PlanRequest, 'target' | 'host'> & { target: string; host: string }): CosplayPlan {
  const result = planCosplay({ ...request, target: gpu(request.target), host: gpu(request.host) });
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.plan;
}
const row = (p: CosplayPlan, metric: string) => p.fidelity.find((r) => r.metric === metric)!;
const argvs = (p: CosplayPlan) => p.mutations.map((m) => m.run.argv.join(' '));

describe('planCosplay over every (target, host) pair of the catalog', () => {
  let plans = 0;
  let refusals = 0;
  after(() => assert.equal(plans + refusals, catalog.entries.length ** 2));

  for (const target of catalog.entries) {
    it(`${target.key} on every host: a plan with exact VRAM and FP32 within 10% or "host too slow", else a clear refusal`, () => {
      for (const host of catalog.entries) {
        const result = planCosplay({ target, host });
        if (!result.ok) {
          refusals++;
          assert.ok(target.vramMiB > host.vramMiB, `${target.key} on ${host.key} refused: ${result.error.message}`);
          assert.match(result.error.message, /needs .* GiB; host .* has .* GiB/);
          continue;
        }
        plans++;
        const { fidelity, chosen } = result.plan;
        assert.equal(fidelity.find((r) => r.metric === 'VRAM')!.predicted, target.vramMiB);
        assert.equal(result.plan.container.env.GPUDEV_VRAM_BYTES, String(target.vramMiB * 1024 * 1024));
        const fp32 = fidelity.find((r) => r.metric === 'FP32')!;
        if (chosen.fp32Reachable)
          assert.ok(Math.abs(fp32.ratio! - 1) <= 0.1, `${target.key} on ${host.key}: FP32 ratio ${fp32.ratio}`);
        else assert.match(fp32.verdict, /host too slow/, `${target.key} on ${host.key}`);
        for (const mutation of result.plan.mutations)
          for (const arg of mutation.run.argv) assert.doesNotMatch(arg, /[;&|<>`$]/);
      }
    });
  }
});

describe('planCosplay', () => {
  it('RTX 3090 on an H100 SXM: a MIG slice with enough memory, FP32 matched, tensor verdicts plain', () => {
    const p = plan({ target: 'rtx3090', host: 'h100-sxm' });
    assert.equal(p.chosen.strategy, 'mig');
    assert.equal(p.chosen.migProfile!.name, '4g.40gb');
    assert.equal(row(p, 'VRAM').predicted, 24576);
    assert.equal(row(p, 'FP32').verdict, 'matches');
    assert.match(
      row(p, 'BF16 tensor').verdict,
      /^BF16 tensor 6\.8x too fast: no setting can slow tensor cores separately/,
    );
    assert.match(row(p, 'Bandwidth').verdict, /HBM memory clocks cannot be lowered/);
    assert.match(row(p, 'Compute capability').verdict, /sm_90, not sm_86/);
    assert.deepEqual(argvs(p), [
      'nvidia-smi -i {gpu} -pm 1',
      'nvidia-smi -i {gpu} -mig 1',
      'nvidia-smi mig -i {gpu} -cgi 5:0 -C',
      'nvidia-smi -i {gpu} -pl 350',
    ]);
    assert.deepEqual(
      p.mutations[0]!.undo,
      [{ argv: ['nvidia-smi', '-i', '{gpu}', '-pm', '{originalPersistence}'] }],
      'persistence goes back to what it was',
    );
    assert.equal(p.container.device, '{mig-uuid}');
    assert.deepEqual(
      p.alternatives.map((a) => a.strategy),
      ['mps', 'memory'],
    );
  });

  it('MPS: thread percentage for the SM share, pinned memory limit for every GPU, a clock lock to close the gap', () => {
    const p = plan({ target: 'rtx3090', host: 'h100-sxm', strategy: 'mps', gpuCount: 2 });
    // 35.6 TFLOPS / (1980 MHz × 256 FLOP/clk) = 70.2 SMs of 132 → 54%.
    assert.equal(p.chosen.mpsThreadPercent, 54);
    assert.equal(p.container.env.CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, '54');
    assert.equal(p.container.env.CUDA_MPS_PINNED_DEVICE_MEM_LIMIT, '0=24576M,1=24576M');
    assert.ok(Math.abs(row(p, 'FP32').ratio! - 1) <= 0.1);
    const mps = p.mutations.find((m) => m.run.argv[0] === 'nvidia-cuda-mps-control')!;
    assert.equal(mps.run.argv.join(' '), 'nvidia-cuda-mps-control -d');
    assert.deepEqual(mps.undo, [{ argv: ['nvidia-cuda-mps-control'], stdin: 'quit\n', env: mps.run.env }]);
  });

  it('locks clocks below boost when a slice has more SMs than the target needs', () => {
    // A40: 48 GiB → the 7g.94gb slice (132 SMs); 37.4 TFLOPS / (132 × 256) = 1107 MHz → 1110.
    const p = plan({ target: 'a40', host: 'h100-nvl' });
    assert.equal(p.chosen.migProfile!.name, '7g.94gb');
    assert.equal(p.chosen.clockLockMHz, 1110);
    assert.equal(p.container.env.GPUDEV_EXPECT_CLOCK_MHZ, '1110');
    assert.ok(argvs(p).includes('nvidia-smi -i {gpu} -lgc 1110,1110'));
    assert.equal(
      p.mutations.find((m) => m.description.startsWith('lock'))!.undo[0]!.argv.join(' '),
      'nvidia-smi -i {gpu} -rgc',
    );
  });

  it('locks memory clocks on a GDDR host of Ampere or newer, never on HBM', () => {
    const p = plan({ target: 'rtx3060', host: 'rtx4090', strategy: 'mps' });
    assert.equal(p.chosen.memoryClockShare, 0.36);
    assert.ok(argvs(p).includes('nvidia-smi -i {gpu} -lmc {memoryClockAtMost36Percent},{memoryClockAtMost36Percent}'));
    assert.equal(row(p, 'Bandwidth').verdict, 'matches');
    assert.equal(plan({ target: 'rtx3060', host: 'h100-sxm' }).chosen.memoryClockShare, null);
    assert.equal(
      plan({ target: 'rtx2060', host: 'rtx2080ti' }).chosen.memoryClockShare,
      null,
      'Turing cannot lock memory clocks',
    );
  });

  it('memory only: the cap and nothing else, said plainly', () => {
    const p = plan({ target: 'rtx3060', host: 'rtx4090', strategy: 'memory' });
    assert.deepEqual(p.mutations, []);
    assert.ok(p.warnings.includes("memory cap only: compute runs at the host's full speed"));
  });

  it('a host too slow comes closest and says so', () => {
    const p = plan({ target: 'l4', host: 'a100-sxm4-80gb' });
    assert.equal(p.chosen.fp32Reachable, false);
    assert.equal(row(p, 'FP32').verdict, 'FP32 36% too slow: host too slow, even at its maximum clock');
    assert.match(p.warnings[0]!, /FP32 cannot reach 30.3 TFLOPS/);
  });

  it('targets without BF16 or TF32 say what the shim does about it', () => {
    const p = plan({ target: 't4', host: 'h100-sxm' });
    assert.equal(p.container.env.GPUDEV_TENSOR, 'fp16');
    assert.match(row(p, 'BF16 tensor').verdict, /is_bf16_supported\(\) is reported False/);
    assert.match(row(p, 'TF32 tensor').verdict, /turns TF32 off/);
  });

  it('keeps the power cap inside the host range', () => {
    assert.equal(plan({ target: 'l4', host: 'h100-sxm' }).powerCapW, 200);
    assert.equal(plan({ target: 'rtx3090', host: 'h100-pcie' }).powerCapW, null);
  });
});

describe('planCosplay refusals', () => {
  const refusal = (request: PlanRequest) => {
    const result = planCosplay(request);
    assert.ok(!result.ok);
    return `${result.error.message} | ${result.error.hint ?? ''}`;
  };

  it('target larger than the host', () => {
    assert.equal(
      refusal({ target: gpu('rtx3090'), host: gpu('t4') }),
      'NVIDIA GeForce RTX 3090 needs 24 GiB; host Tesla T4 has 15 GiB | pick a host with more memory',
    );
  });

  it('MIG on a host without MIG', () => {
    assert.match(
      refusal({ target: gpu('rtx3060'), host: gpu('l40s'), strategy: 'mig' }),
      /^MIG requested on host NVIDIA L40S, which has no MIG/,
    );
  });

  it('more GPUs than the host has', () => {
    assert.match(
      refusal({ target: gpu('rtx3090'), host: gpu('h100-sxm'), gpuCount: 9, hostGpuCount: 8 }),
      /^9 GPUs requested; the host has 8/,
    );
    assert.match(refusal({ target: gpu('rtx3090'), host: gpu('h100-sxm'), gpuCount: 0 }), /at least 1/);
  });

  it('GPU-wide settings that clash with a live session, naming it', () => {
    const message = refusal({
      target: gpu('a40'),
      host: gpu('h100-nvl'),
      liveSessions: [{ name: 'alice-rtx3090', clockLockMHz: 1500, powerCapW: 350 }],
    });
    assert.match(message, /^session "alice-rtx3090" on this GPU already set clocks 1500 MHz \/ power 350 W/);
    assert.ok(
      planCosplay({
        target: gpu('a40'),
        host: gpu('h100-nvl'),
        liveSessions: [{ name: 'same clocks', clockLockMHz: 1110, powerCapW: null }],
      }).ok,
    );
    const memory = refusal({
      target: gpu('rtx3060'),
      host: gpu('rtx4090'),
      strategy: 'mps',
      liveSessions: [{ name: 'bob', clockLockMHz: null, powerCapW: null, memoryClockShare: 0.5 }],
    });
    assert.match(memory, /^session "bob" on this GPU/);
  });
});

describe('MIG placement against the instances nvidia-smi lists', () => {
  const lgi = (name: string) => parseMigInstances(smiFixtures(name)[0]!.text);

  it('parses `nvidia-smi mig -lgi` fixtures', () => {
    const full = lgi('lgi-h100-80gb-hbm3-7x1g');
    assert.deepEqual(full.problems, []);
    assert.equal(full.instances.length, 7);
    assert.deepEqual(full.instances[6], {
      gpu: 0,
      profile: '1g.10gb',
      profileId: 19,
      instanceId: 13,
      start: 6,
      size: 1,
    });
    assert.deepEqual(lgi('lgi-a100-sxm4-80gb-515.43.04').instances, [
      { gpu: 7, profile: '3g.40gb', profileId: 9, instanceId: 1, start: 4, size: 4 },
    ]);
    assert.deepEqual(parseMigInstances('No GPU instances found: Not Found\n'), { instances: [], problems: [] });
  });

  it('takes a free placement and skips enabling MIG when it is on', () => {
    const instances = [{ gpu: 0, profile: '3g.40gb', profileId: 9, instanceId: 1, start: 4, size: 4 }];
    const p = plan({ target: 'rtx3090', host: 'h100-sxm', hostMig: { enabled: true, instances } });
    assert.deepEqual(argvs(p).slice(0, 2), ['nvidia-smi -i {gpu} -pm 1', 'nvidia-smi mig -i {gpu} -cgi 5:0 -C']);
    assert.equal(p.chosen.migStart, 0);
  });

  it('refuses when every slice is taken, and refuses MPS on a GPU in MIG mode', () => {
    const full = lgi('lgi-h100-80gb-hbm3-7x1g').instances;
    const busy = planCosplay({ target: gpu('t4'), host: gpu('h100-sxm'), hostMig: { enabled: true, instances: full } });
    assert.ok(!busy.ok && /already there/.test(busy.error.message));
    const mps = planCosplay({
      target: gpu('t4'),
      host: gpu('h100-sxm'),
      strategy: 'mps',
      hostMig: { enabled: true, instances: [] },
    });
    assert.ok(!mps.ok && /MIG mode is on/.test(mps.error.message));
  });
});
