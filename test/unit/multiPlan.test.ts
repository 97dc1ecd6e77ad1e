import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import type { GpuEntry } from '../../src/catalog/schema';
import { pairLink } from '../../src/cosplay/interconnect';
import { planCommandLine } from '../../src/cosplay/planText';
import { gpuIndicesOf, planMultiCosplay, type GpuSlot, type MultiPlanResult } from '../../src/cosplay/multiPlan';
import type { Strategy } from '../../src/cosplay/planner';
import { parseMigInstances } from '../../src/hosts/nvidiaSmi/migInstances';
import { smiFixtures } from './fixtures';

const catalog = builtinCatalog();
function gpu(key: string): GpuEntry {
  const found = catalog.lookup(key);
  assert.ok(found.ok, key);
  return found.entry;
}
function planned(target: string, host: string, slots: GpuSlot[], strategy?: Strategy) {
  return planMultiCosplay({ target: gpu(target), host: gpu(host), hostGpuCount: 8, strategy }, slots);
}
function ok(result: MultiPlanResult) {
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result;
}
const kinds = (result: Extract<MultiPlanResult, { ok: true }>, i: number) =>
  result.gpus[i]!.plan.mutations.map((m) => m.change.kind);
const interconnect = (result: Extract<MultiPlanResult, { ok: true }>) =>
  result.gpus[0]!.plan.fidelity.find((r) => r.metric === 'Interconnect');

describe('multi-GPU plans', () => {
  it('2× RTX 3090 from two H100s: one plan per GPU with the same settings, the count in the shim contract', () => {
    const result = ok(planned('rtx3090', 'h100-sxm', [{ index: 0 }, { index: 1 }], 'mps'));
    assert.deepEqual(
      result.gpus.map((g) => [g.gpuIndex, g.slices, g.plan.gpuCount]),
      [
        [0, 1, 2],
        [1, 1, 2],
      ],
    );
    const [a, b] = result.gpus.map((g) => g.plan);
    assert.equal(a!.chosen.clockLockMHz, b!.chosen.clockLockMHz);
    assert.equal(a!.container.env.GPUDEV_GPU_COUNT, '2');
    assert.equal(a!.container.env.CUDA_MPS_PINNED_DEVICE_MEM_LIMIT, '0=24576M,1=24576M');
    assert.deepEqual(kinds(result, 0), kinds(result, 1), 'each GPU journals the same changes');
    assert.deepEqual(result.warnings, []);
  });

  it('several whole GPUs without a strategy: MPS before MIG (one process sees every GPU), said; MIG when asked', () => {
    const auto = ok(planned('rtx3090', 'h100-sxm', [{ index: 0 }, { index: 1 }]));
    assert.equal(auto.gpus[0]!.plan.chosen.strategy, 'mps');
    assert.match(auto.warnings[0]!, /^MPS rather than MIG for several GPUs: one CUDA process sees only one MIG device/);
    const mig = ok(planned('rtx3090', 'h100-sxm', [{ index: 0 }, { index: 1 }], 'mig'));
    assert.equal(mig.gpus[0]!.plan.chosen.strategy, 'mig');
    assert.match(mig.warnings[0]!, /one CUDA process sees only the first MIG device/);
    const one = ok(planned('rtx3090', 'h100-sxm', [{ index: 0 }]));
    assert.equal(one.gpus[0]!.plan.chosen.strategy, 'mig', 'one GPU plans as before');
  });

  it("the interconnect row: a 3090 pair's NVLink bridge against the H100s' NVLink4; a 4090 pair has none", () => {
    const h100 = interconnect(ok(planned('rtx3090', 'h100-sxm', [{ index: 0 }, { index: 1 }], 'memory')))!;
    assert.equal(h100.target, 'NVLink bridge; PCIe 4.0 x16');
    assert.equal(h100.predicted, 'NVLink4 900 GB/s; PCIe 5.0 x16');
    assert.match(h100.verdict, /faster than a NVIDIA GeForce RTX 3090 pair's NVLink bridge/);
    assert.equal(pairLink(gpu('rtx4090')), 'PCIe 4.0 x16, no NVLink');
    const v100 = interconnect(ok(planned('v100-sxm2-32gb', 'a100-sxm4-80gb', [{ index: 0 }, { index: 1 }], 'memory')))!;
    assert.match(v100.verdict, /NVLink3 600 GB\/s is faster than a Tesla V100-SXM2-32GB pair's NVLink2 300 GB\/s/);
    assert.equal(v100.ratio, 2);
    const l4 = interconnect(ok(planned('l4', 'l40s', [{ index: 0 }, { index: 1 }], 'memory')))!;
    assert.equal(l4.verdict, 'both talk over PCIe: collectives close to a real pair');
    assert.equal(
      ok(planned('rtx3090', 'h100-sxm', [{ index: 0 }])).gpus[0]!.plan.fidelity.some(
        (r) => r.metric === 'Interconnect',
      ),
      false,
      'one GPU has no interconnect row',
    );
  });

  it('two MIG slices of one GPU: MIG mode once, two GPU instances at different slices; warned that CUDA sees one', () => {
    const result = ok(planned('rtx3060', 'h100-sxm', [{ index: 3 }, { index: 3 }], 'mig'));
    assert.equal(result.gpus.length, 1);
    assert.equal(result.gpus[0]!.slices, 2);
    const instances = result.gpus[0]!.plan.mutations.filter((m) => m.change.kind === 'gpuInstance');
    assert.equal(kinds(result, 0).filter((k) => k === 'migMode').length, 1);
    const starts = instances.map((m) => (m.change.kind === 'gpuInstance' ? m.change.start : -1));
    assert.equal(starts.length, 2);
    assert.notEqual(starts[0], starts[1]);
    assert.match(result.warnings[0]!, /one CUDA process sees only the first MIG device/);
    assert.ok(result.gpus[0]!.plan.warnings.includes(result.warnings[0]!));
    const row = interconnect(result)!;
    assert.equal(row.predicted, 'none (MIG instances)');
    assert.match(row.verdict, /no P2P between MIG instances.*mig-user-guide.*NCCL/);
  });

  it('slices are placed around the instances already on the GPU; too many slices are refused naming the GPU', () => {
    const { instances } = parseMigInstances(smiFixtures('lgi-h100-80gb-hbm3-7x1g')[0]!.text);
    const full = { enabled: true, instances: instances.slice(0, 2) };
    const two = ok(
      planned(
        't4',
        'h100-sxm',
        [
          { index: 0, hostMig: full },
          { index: 0, hostMig: full },
        ],
        'mig',
      ),
    );
    assert.equal(two.gpus[0]!.slices, 2);
    const three = planned(
      't4',
      'h100-sxm',
      [0, 0, 0].map((index) => ({ index, hostMig: full })),
      'mig',
    );
    assert.ok(!three.ok);
    assert.match(three.error.message, /^slice 3 of GPU 0 would get MIG 1g.20gb.*, GPU 0 MIG 2g.20gb/);
    const crowded = { enabled: true, instances: instances.slice(0, 5) };
    const none = planned(
      't4',
      'h100-sxm',
      [0, 0].map((index) => ({ index, hostMig: crowded })),
      'mig',
    );
    assert.ok(!none.ok);
    assert.match(none.error.message, /^GPU 0 \(slice 2\): no MIG profile .* is free/);
  });

  it('refusals: a GPU listed twice without MIG, GPUs in different MIG states, a clash on one GPU, more GPUs than the host has', () => {
    const twice = planned('rtx3090', 'h100-sxm', [{ index: 0 }, { index: 0 }], 'mps');
    assert.ok(!twice.ok);
    assert.match(twice.error.message, /GPU 0 is listed 2 times: .*need MIG slices, and its plan uses mps/);
    const mixed = planned('rtx4090', 'h100-sxm', [
      { index: 0 },
      { index: 1, hostMig: { enabled: true, instances: [] } },
    ]);
    assert.ok(!mixed.ok);
    assert.match(mixed.error.message, /^GPU 1 would get MIG .*, GPU 0 mps.*must all be cosplayed alike/);
    const live = [{ name: 'gpudev-other-gpu1-0000', clockLockMHz: 1000, powerCapW: 300 }];
    const clash = planned('rtx3090', 'h100-sxm', [{ index: 0 }, { index: 1, liveSessions: live }], 'mps');
    assert.ok(!clash.ok);
    assert.match(
      clash.error.message,
      /^GPU 1: session "gpudev-other-gpu1-0000" on this GPU already set clocks 1000 MHz/,
    );
    const many = planMultiCosplay(
      { target: gpu('rtx3090'), host: gpu('h100-sxm'), hostGpuCount: 2 },
      [0, 1, 2].map((index) => ({ index })),
    );
    assert.ok(!many.ok);
    assert.match(many.error.message, /3 GPUs requested; the host has 2/);
  });

  it('--gpu and --num: a list, a count from a first GPU, and clear errors', () => {
    assert.deepEqual(gpuIndicesOf(undefined, undefined), [0]);
    assert.deepEqual(gpuIndicesOf(undefined, '2'), [0, 1]);
    assert.deepEqual(gpuIndicesOf('4', '3'), [4, 5, 6]);
    assert.deepEqual(gpuIndicesOf('1,3', undefined), [1, 3]);
    assert.deepEqual(gpuIndicesOf('2,2', '2'), [2, 2]);
    assert.match(String(gpuIndicesOf('1,3', '3')), /--num 3 does not match the 2 GPUs/);
    assert.match(String(gpuIndicesOf('a', undefined)), /--gpu takes GPU indices/);
    assert.match(String(gpuIndicesOf(undefined, '0')), /--num must be a whole number/);
    assert.equal(
      planCommandLine({ target: 'rtx3090', host: 'h100-sxm', gpu: { index: 2, uuid: null }, gpuList: [2, 2] }),
      'gpudev cosplay up rtx3090 --gpu 2,2',
      'the plan panel line reproduces the slices',
    );
  });
});
