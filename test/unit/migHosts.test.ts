import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import type { GpuEntry, MigProfile } from '../../src/catalog/schema';
import { migLayoutOf, migSliceFor, sliceBandwidthGBs, startsOf } from '../../src/cosplay/migPlacement';
import { planMultiCosplay } from '../../src/cosplay/multiPlan';
import { planCosplay, type PlanRequest, type StrategyOption } from '../../src/cosplay/planner';
import { migProfilesIncomplete } from '../../src/cosplay/unknownHost';
import { parseLgip } from '../../src/hosts/nvidiaSmi/hostReport';
import { parseMigInstances, type MigInstance } from '../../src/hosts/nvidiaSmi/migInstances';
import { smiFixtures } from './fixtures';

const catalog = builtinCatalog();
function gpu(key: string): GpuEntry {
  const found = catalog.lookup(key);
  assert.ok(found.ok, key);
  return found.entry;
}
const fixture = (name: string) => smiFixtures(name)[0]!.text;
const instancesOf = (name: string) => parseMigInstances(fixture(name)).instances;

/** `nvidia-smi mig -lgipp` rows: "GPU  0 Profile ID 14 Placements: {0,3,6,9}:3". */
function parseLgipp(text: string): Map<number, { starts: number[]; size: number }> {
  const rows = [...text.matchAll(/^GPU\s+\d+\s+Profile ID\s+(\d+)\s+Placements?\s*:\s*\{([\d,]+)\}:(\d+)\s*$/gm)];
  return new Map(
    rows.map(([, id, starts, size]) => [Number(id), { starts: starts!.split(',').map(Number), size: Number(size) }]),
  );
}

const isPlain = (p: MigProfile) => /^\d+g\.\d+gb$/.test(p.name);
const options = (plan: { chosen: StrategyOption; alternatives: readonly StrategyOption[] }) => [
  plan.chosen,
  ...plan.alternatives,
];
const migOption = (request: PlanRequest) => {
  const result = planCosplay(request);
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return { plan: result.plan, mig: options(result.plan).find((o) => o.strategy === 'mig') };
};

/** The MIG-capable hosts issue 15 names (the A800s kept the A100's profiles before). */
const ISSUE_15_HOSTS = [
  'rtxpro6000-server',
  'rtxpro6000',
  'gh200',
  'gh200-144gb',
  'gb200',
  'h800',
  'b300',
  'gb300',
  'h20',
];

describe('MIG profiles of every catalog host', () => {
  for (const host of catalog.hosts.filter((h) => h.host!.migProfiles.length)) {
    it(`${host.key}: every profile fits the GPU's slice layout, with placements and memory of its slices`, () => {
      const layout = migLayoutOf(host);
      const profiles = host.host!.migProfiles;
      assert.equal(new Set(profiles.map((p) => p.id)).size, profiles.length, 'profile ids are unique');
      assert.equal(new Set(profiles.map((p) => p.name)).size, profiles.length, 'profile names are unique');
      for (const p of profiles) {
        const label = `${host.key} ${p.name}`;
        assert.ok(p.computeSlices <= layout.computeSlices, label);
        const starts = startsOf(p, layout);
        assert.ok(starts.length >= p.maxInstances, `${label}: ${p.maxInstances} instances need as many placements`);
        assert.deepEqual(
          [...starts].sort((a, b) => a - b),
          [...starts],
          label,
        );
        for (const start of starts) assert.ok(start + p.memorySlices <= layout.memorySlices, `${label} at ${start}`);
        assert.ok(
          p.memoryMiB <= (host.vramMiB * p.memorySlices) / layout.memorySlices,
          `${label}: memory of its slices`,
        );
        if (/\+me(\.all)?$/.test(p.name)) assert.equal(p.maxInstances, 1, `${label}: one set of media engines`);
      }
      const whole = profiles.some((p) => p.computeSlices === layout.computeSlices);
      assert.ok(
        whole || host.unverified.some((u) => u.startsWith('host.migProfiles')),
        `${host.key}: a whole-GPU profile, or the gap listed under unverified`,
      );
      assert.equal(migProfilesIncomplete(host), !whole);
    });
  }

  it('the issue 15 hosts without sourced profiles say so under unverified, and take the ones their GPU reports', () => {
    for (const key of ISSUE_15_HOSTS) {
      const host = gpu(key);
      assert.ok(host.host, key);
      if (!host.host.migProfiles.length) {
        assert.ok(
          host.unverified.some((u) => u.startsWith('host.migProfiles')),
          key,
        );
        assert.ok(migProfilesIncomplete(host), key);
        const forced = planCosplay({ target: gpu('t4'), host, strategy: 'mig' });
        assert.ok(!forced.ok);
        assert.match(forced.error.message, /whose MIG profiles no source lists$/);
        assert.match(forced.error.hint!, /where its GPU reports them \(nvidia-smi mig -lgip\)/);
      }
    }
  });
});

describe('MIG profiles against verbatim nvidia-smi mig output', () => {
  // The A100 40GB's memory comes from NVML's own figures, which this driver's -lgip rounds otherwise.
  for (const [key, name, memory] of [
    ['rtxpro6000-server', 'lgip-rtxpro6000-server-610.43.02', true],
    ['gh200', 'lgip-gh200-96gb', true],
    ['a100-sxm4-40gb', 'lgip-a100-40gb', false],
  ] as const) {
    it(`${key}: ids, SMs, instance counts${memory ? ' and memory (to 0.01 GiB)' : ''} are what ${name} lists`, () => {
      const reported = parseLgip(fixture(name), 0);
      const profiles = gpu(key).host!.migProfiles;
      assert.deepEqual(
        profiles.map((p) => [p.name, p.id, p.smCount, p.maxInstances]),
        reported.map((p) => [p.name, p.id, p.smCount, p.maxInstances]),
      );
      for (const [i, p] of memory ? profiles.entries() : [])
        assert.ok(Math.abs(p.memoryMiB - reported[i]!.memoryMiB) <= 10.24, `${key} ${p.name}: ${p.memoryMiB} MiB`);
    });
  }

  it('RTX PRO 6000 Server: the starts and sizes are the -lgipp ones, on a grid of 12 memory slices and 4 compute slices', () => {
    const host = gpu('rtxpro6000-server');
    const lgipp = parseLgipp(fixture('lgipp-rtxpro6000-server-610.43.02'));
    assert.equal(lgipp.size, 11);
    const layout = migLayoutOf(host);
    assert.deepEqual(layout, { memorySlices: 12, computeSlices: 4 });
    for (const p of host.host!.migProfiles) {
      assert.deepEqual({ starts: startsOf(p, layout), size: p.memorySlices }, lgipp.get(p.id), p.name);
    }
    assert.equal(Math.max(...[...lgipp.values()].map((l) => Math.max(...l.starts) + l.size)), layout.memorySlices);
    for (const name of ['lgi-rtxpro6000-server-4x1g', 'lgi-rtxpro6000-server-2g-2x1g'])
      for (const i of instancesOf(name))
        assert.ok(lgipp.get(i.profileId)!.starts.includes(i.start), `${name} ${i.start}`);
  });

  it('the Workstation Edition has the Server Edition profiles (the guide lists one table for both), said under unverified', () => {
    assert.deepEqual(gpu('rtxpro6000').host, gpu('rtxpro6000-server').host);
    assert.ok(gpu('rtxpro6000').unverified.some((u) => /host\.migProfiles \(the Server Edition/.test(u)));
  });
});

describe('plans on the MIG hosts of issue 15', () => {
  for (const key of ISSUE_15_HOSTS) {
    it(`${key}: MIG offered exactly where a plain profile holds the target, at one of its placements, by its catalog id`, () => {
      const host = gpu(key);
      let offered = 0;
      for (const target of catalog.entries.filter((t) => t.vramMiB <= host.vramMiB)) {
        const { plan, mig } = migOption({ target, host });
        const fits = host.host!.migProfiles.some((p) => isPlain(p) && p.memoryMiB >= target.vramMiB);
        assert.equal(mig !== undefined, fits, `${target.key} on ${key}`);
        if (!mig) continue;
        offered++;
        const profile = mig.migProfile!;
        assert.ok(host.host!.migProfiles.includes(profile), `${target.key} on ${key}: a catalog profile`);
        assert.ok(isPlain(profile), `${target.key} on ${key}: ${profile.name}`);
        assert.ok(startsOf(profile, migLayoutOf(host)).includes(mig.migStart!), `${target.key} on ${key}`);
        assert.equal(mig.delivered.smCount, profile.smCount);
        if (plan.chosen === mig) {
          const create = plan.mutations.find((m) => m.change.kind === 'gpuInstance')!;
          assert.deepEqual(create.run.argv, [
            'nvidia-smi',
            'mig',
            '-i',
            '{gpu}',
            '-cgi',
            `${profile.id}:${mig.migStart}`,
            '-C',
          ]);
        }
      }
      assert.equal(offered > 0, host.host!.migProfiles.length > 0, key);
    });
  }

  it('RTX 4090 from an RTX PRO 6000: the 2g.48gb slice (the 1g.24gb holds 24192 MiB, the 4090 has 24564), id 5 at slice 0', () => {
    for (const key of ['rtxpro6000-server', 'rtxpro6000']) {
      const { plan, mig } = migOption({ target: gpu('rtx4090'), host: gpu(key) });
      assert.equal(mig!.migProfile!.name, '2g.48gb');
      assert.equal(mig!.migStart, 0);
      assert.equal(mig!.delivered.smCount, 94);
      // FP32 needs more SMs than the slice has: MPS on the whole GPU reaches it, MIG stays on offer.
      assert.equal(plan.chosen.strategy, 'mps');
      const forced = planCosplay({ target: gpu('rtx4090'), host: gpu(key), strategy: 'mig' });
      assert.ok(forced.ok);
      assert.ok(forced.plan.mutations.some((m) => m.run.argv.join(' ') === 'nvidia-smi mig -i {gpu} -cgi 5:0 -C'));
    }
  });

  it('a T4 from an RTX PRO 6000: MIG 1g.24gb (id 14, not the standard 19) with a quarter of the bandwidth', () => {
    const host = gpu('rtxpro6000-server');
    const { plan, mig } = migOption({ target: gpu('t4'), host, strategy: 'mig' });
    assert.equal(plan.chosen, mig);
    assert.deepEqual([mig!.migProfile!.name, mig!.migProfile!.id, mig!.migStart], ['1g.24gb', 14, 0]);
    assert.equal(sliceBandwidthGBs(host, mig!.migProfile!), host.bandwidthGBs / 4);
    assert.ok(plan.mutations.some((m) => m.run.argv.join(' ') === 'nvidia-smi mig -i {gpu} -cgi 14:0 -C'));
  });

  it('never picks a media or graphics variant (+me, +me.all, -me, +gfx) for a compute slice', () => {
    const host = gpu('rtxpro6000-server');
    for (const target of catalog.entries) {
      const slice = migSliceFor(host, target, []);
      if (slice) assert.ok(isPlain(slice.profile), `${target.key}: ${slice.profile.name}`);
    }
  });
});

describe('RTX PRO 6000 placements around the instances already there (verbatim -lgi)', () => {
  const host = gpu('rtxpro6000-server');
  const onGpu = (instances: readonly MigInstance[], target: string) =>
    planCosplay({ target: gpu(target), host, strategy: 'mig', hostMig: { enabled: true, instances } });

  it('2g.48gb at 0:6 and 1g.24gb at 6:3 and 9:3 fill the grid: nothing more fits, said with what is there', () => {
    const full = onGpu(instancesOf('lgi-rtxpro6000-server-2g-2x1g'), 't4');
    assert.ok(!full.ok);
    assert.match(
      full.error.message,
      /no MIG profile of NVIDIA RTX PRO 6000 .* is free \(1g\.24gb, 1g\.24gb, 2g\.48gb already there\)/,
    );
  });

  it('with the 1g.24gb at 6:3 gone, a T4 takes its place; a 2g.48gb after two 1g at 0 and 3 starts at 6', () => {
    const three = instancesOf('lgi-rtxpro6000-server-4x1g').filter((i) => i.start !== 6);
    const t4 = onGpu(three, 't4');
    assert.ok(t4.ok, t4.ok ? '' : t4.error.message);
    assert.equal(t4.plan.chosen.migStart, 6);
    const two = instancesOf('lgi-rtxpro6000-server-4x1g').filter((i) => i.start < 6);
    const rtx3090 = onGpu(two, 'rtx3090');
    assert.ok(rtx3090.ok, rtx3090.ok ? '' : rtx3090.error.message);
    assert.deepEqual([rtx3090.plan.chosen.migProfile!.name, rtx3090.plan.chosen.migStart], ['2g.48gb', 6]);
    const four = onGpu(instancesOf('lgi-rtxpro6000-server-4x1g'), 't4');
    assert.ok(!four.ok, 'four 1g.24gb take all four compute slices');
  });

  it('two T4 slices of one RTX PRO 6000 in one session land at 0 and 3', () => {
    const result = planMultiCosplay({ target: gpu('t4'), host, hostGpuCount: 8, strategy: 'mig' }, [
      { index: 0 },
      { index: 0 },
    ]);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    const starts = result.gpus[0]!.plan.mutations.flatMap((m) =>
      m.change.kind === 'gpuInstance' ? [m.change.start] : [],
    );
    assert.deepEqual(starts, [0, 3]);
  });
});
