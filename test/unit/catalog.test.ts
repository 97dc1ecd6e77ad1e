import * as assert from 'node:assert/strict';
import { PRECISIONS } from '../../src/catalog/arch';
import { builtinCatalog, normalizeGpuName, parseCatalog } from '../../src/catalog/catalog';
import { planCosplay } from '../../src/cosplay/planner';
import { datasheetThroughput, predictThroughput } from '../../src/cosplay/roofline';
import { smiFixtures } from './fixtures';

const catalog = builtinCatalog();

describe('GPU catalog', () => {
  it('validates and holds targets and MIG hosts', () => {
    assert.ok(catalog.entries.length >= 56);
    assert.deepEqual(
      catalog.hosts.map((h) => h.key),
      [
        'a100-sxm4-40gb',
        'a100-sxm4-80gb',
        'a100-pcie-40gb',
        'a100-pcie-80gb',
        'h100-sxm',
        'h100-pcie',
        'h100-nvl',
        'h200',
        'b200',
        'b300',
        'gb300',
        'gb200',
        'gh200',
        'gh200-144gb',
        'h20',
        'h800',
        'a800-sxm4-80gb',
        'a800-pcie-80gb',
        'l20',
        'rtxpro6000-server',
        'rtxpro6000',
      ],
    );
  });

  for (const entry of catalog.entries) {
    it(`${entry.key}: the roofline model reproduces every datasheet rate within 3%`, () => {
      const model = predictThroughput(entry);
      const datasheet = datasheetThroughput(entry);
      for (const precision of PRECISIONS) {
        const expected = datasheet[precision];
        const predicted = model[precision];
        if (expected === null || predicted === null) {
          assert.equal(predicted, expected, `${precision}: the model and the datasheet disagree on whether it exists`);
          continue;
        }
        const error = Math.abs(predicted / expected - 1);
        assert.ok(
          error <= 0.03,
          `${precision}: model ${predicted.toFixed(1)} vs datasheet ${expected} TFLOPS (${(error * 100).toFixed(1)}%)`,
        );
      }
    });
  }

  it('MIG profiles fit their host: SMs and memory within the GPU, slices consistent', () => {
    for (const host of catalog.hosts) {
      for (const profile of host.host!.migProfiles) {
        assert.ok(profile.smCount <= host.smCount, `${host.key} ${profile.name}`);
        assert.ok(profile.memoryMiB <= host.vramMiB, `${host.key} ${profile.name}`);
        assert.equal(Number(/^(\d+)g/.exec(profile.name)![1]), profile.computeSlices, `${host.key} ${profile.name}`);
        // Ids 19–0 name the same slices on every GPU of the standard layout; RTX PRO 6000 numbers its own.
        if (!host.host!.migLayout)
          assert.equal(profile.name.endsWith('+me'), profile.id === 20, `${host.key} ${profile.name}`);
      }
    }
  });

  it('holds every target family the planner promises', () => {
    for (const key of [
      'gtx1650',
      'gtx1660ti',
      'rtx2060',
      'rtx2080ti',
      'rtx3060',
      'rtx3090ti',
      'rtx4060',
      'rtx4070tisuper',
      'rtx4080super',
      'rtx4090',
      'rtx5070',
      'rtx5090',
      't4',
      'v100-sxm2-16gb',
      'v100-pcie-32gb',
      'a10',
      'a10g',
      'a30',
      'a40',
      'l4',
      'l40',
      'l40s',
      'rtxa6000',
      'rtx6000ada',
      'a100-sxm4-40gb',
      'a100-pcie-80gb',
      'h100-pcie',
      'h100-sxm',
      'h100-nvl',
      'h200',
      'b200',
    ]) {
      assert.ok(catalog.lookup(key).ok, key);
    }
  });

  it('GTX 16 parts have no tensor paths; the L40 and A10G run FP32-accumulate tensor math at half rate', () => {
    const entry = (key: string) => {
      const found = catalog.lookup(key);
      assert.ok(found.ok);
      return found.entry;
    };
    assert.deepEqual(
      [entry('gtx1660ti').fp16Fp32Acc, entry('gtx1660ti').bf16Fp32Acc, entry('gtx1660ti').tf32],
      [null, null, null],
    );
    assert.equal(entry('l40').bf16Fp32Acc, 181.05);
    assert.equal(entry('l40').tensorRate, 'half');
    assert.equal(entry('a10g').tensorRate, 'half');
  });

  it('stores GeForce FP16/BF16 with FP32 accumulate at half the FP16-accumulate rate', () => {
    const bf16 = (key: string) => {
      const found = catalog.lookup(key);
      return found.ok ? [found.entry.bf16Fp32Acc, found.entry.fp16Fp32Acc] : null;
    };
    assert.deepEqual(bf16('rtx3090'), [71, 71]);
    assert.deepEqual(bf16('rtx4090'), [165.2, 165.2]);
    assert.deepEqual(bf16('a10'), [125, 125]);
  });
});

const ADDED_HOSTS = [
  'b300',
  'gb300',
  'gb200',
  'gh200',
  'gh200-144gb',
  'h20',
  'h800',
  'a800-sxm4-80gb',
  'a800-pcie-80gb',
  'l20',
  'rtxpro6000-server',
  'rtxpro6000',
];
const ADDED_TARGETS = [
  'rtxa2000',
  'rtxa2000-12gb',
  'rtxa4000',
  'rtxa4500',
  'rtxa5000',
  'rtx2000ada',
  'rtx4000ada',
  'rtx4500ada',
  'rtx5000ada',
  'rtxpro4000',
  'rtxpro4500',
  'rtxpro5000',
  'rtx5060',
  'rtx5060ti',
  'rtx5060ti-8gb',
  'a2',
  'a16',
  'gb10',
];

describe('GPUs added for current hardware (issue 15)', () => {
  const entry = (key: string) => {
    const found = catalog.lookup(key);
    assert.ok(found.ok, key);
    return found.entry;
  };

  for (const key of ADDED_TARGETS) {
    it(`plans ${key} as a target, with its ECC and MIG features in the shim's environment`, () => {
      const target = entry(key);
      const hosts = ['h100-sxm', 'b200'].filter((h) => entry(h).vramMiB >= target.vramMiB);
      assert.ok(hosts.length > 0);
      for (const host of hosts) {
        const planned = planCosplay({ target, host: entry(host) });
        assert.ok(planned.ok, `${key} on ${host}: ${planned.ok ? '' : planned.error.message}`);
        assert.equal(planned.plan.container.env.GPUDEV_ECC, target.hasEcc ? '1' : '0');
        assert.equal(planned.plan.container.env.GPUDEV_MIG_CAPABLE, '0');
        assert.equal(planned.plan.container.env.GPUDEV_TARGET_NAME, target.name);
      }
    });
  }

  for (const key of ADDED_HOSTS) {
    it(`plans on ${key} as a host, by MIG where it has a profile big enough`, () => {
      const host = entry(key);
      for (const target of ['rtx3090', 't4', 'l4']) {
        const planned = planCosplay({ target: entry(target), host });
        assert.ok(planned.ok, `${target} on ${key}: ${planned.ok ? '' : planned.error.message}`);
        const fitting = host.host!.migProfiles.some(
          (p) => !p.name.endsWith('+me') && p.memoryMiB >= entry(target).vramMiB,
        );
        assert.equal(
          [planned.plan.chosen, ...planned.plan.alternatives].some((o) => o.strategy === 'mig'),
          fitting,
          `${target} on ${key}`,
        );
      }
    });
  }

  it("a locked clock never runs tensor math above its rated clock (the H20's capped tensor rate holds)", () => {
    const h20 = entry('h20');
    const locked = predictThroughput(h20, { clockMHz: 1500 });
    assert.equal(locked.fp32, (78 * 1500 * 256) / 1e6);
    assert.ok(Math.abs(locked.bf16Fp32Acc! / h20.bf16Fp32Acc! - 1) < 0.03);
    const h100 = entry('h100-sxm');
    assert.equal(predictThroughput(h100, { clockMHz: 1980 }).bf16Fp32Acc, predictThroughput(h100).bf16Fp32Acc);
    assert.equal(predictThroughput(h100, { clockMHz: 1200 }).bf16Fp32Acc, (132 * 1200 * 4096) / 1e6);
  });

  it('GeForce parts (and the GB10, LPDDR5X shared with its CPU) have no ECC; data centre and workstation parts do', () => {
    for (const gpu of catalog.entries)
      assert.equal(gpu.hasEcc, !gpu.family.startsWith('GeForce') && gpu.key !== 'gb10', gpu.key);
  });

  it('the 8 GB RTX 5060 Ti prints the same NVML name as the 16 GB one, which answers it', () => {
    assert.equal(entry('rtx5060ti-8gb').name, entry('rtx5060ti').name);
    assert.equal(catalog.byNvmlName('NVIDIA GeForce RTX 5060 Ti')!.key, 'rtx5060ti');
    assert.equal(entry('5060 Ti 8GB').vramMiB, 8192);
  });

  it('finds the new GPUs by their NVML names, keys and aliases, and says "did you mean" near them', () => {
    assert.equal(catalog.byNvmlName('NVIDIA B300 SXM6 AC')!.key, 'b300');
    assert.equal(entry('RTX PRO 6000').key, 'rtxpro6000');
    assert.equal(entry('rtx 4000 ada').key, 'rtx4000ada');
    const missed = catalog.lookup('rtx pro 6001');
    assert.ok(!missed.ok && /did you mean rtxpro6000/.test(missed.error.hint!), missed.ok ? '' : missed.error.hint);
  });
});

describe('catalog lookup', () => {
  it('is case- and punctuation-insensitive over keys, names and aliases', () => {
    for (const query of [
      '3090',
      'rtx3090',
      'RTX 3090',
      'nvidia geforce rtx 3090',
      'NVIDIA GeForce RTX 3090',
      'rtx-3090',
    ]) {
      const found = catalog.lookup(query);
      assert.ok(found.ok && found.entry.key === 'rtx3090', query);
    }
    const h100 = catalog.lookup('h100-sxm');
    assert.ok(h100.ok && h100.entry.name === 'NVIDIA H100 80GB HBM3');
  });

  it('says "did you mean" for unknown names', () => {
    const found = catalog.lookup('rtx 3099');
    assert.ok(!found.ok);
    assert.equal(found.error.message, 'Unknown GPU "rtx 3099"');
    assert.match(found.error.hint!, /^did you mean rtx3090/);
    const nothing = catalog.lookup('toaster');
    assert.ok(!nothing.ok && nothing.error.hint === 'run `gpudev catalog` to list the GPUs it knows');
    assert.ok(!catalog.lookup('').ok);
  });

  it('finds the entry of every GPU the fixtures name in full, by its exact NVML name', () => {
    const names = new Set(
      [...smiFixtures('default-'), ...smiFixtures('mig-')].flatMap((f) => f.meta.expected!.gpus.map((g) => g.name)),
    );
    for (const name of names) {
      if (name.endsWith('...')) continue;
      assert.ok(catalog.byNvmlName(name), name);
    }
  });

  it('normalizes vendor prefixes away', () => {
    assert.equal(normalizeGpuName('NVIDIA GeForce RTX 3090'), 'rtx3090');
    assert.equal(normalizeGpuName('Tesla T4'), 't4');
  });

  it('rejects an invalid catalog with every problem named', () => {
    assert.throws(
      () => parseCatalog('gpus:\n  - key: Bad Key\n    name: x\n'),
      /gpus\.0\.key: .*\n(.*\n)*.*gpus\.0\.family/,
    );
    assert.throws(() => parseCatalog('gpus: []\n'), /GPU catalog is invalid/);
  });
});
