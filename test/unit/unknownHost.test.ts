import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog, Catalog } from '../../src/catalog/catalog';
import { planCosplay } from '../../src/cosplay/planner';
import { formatPlan } from '../../src/cosplay/planText';
import { planView } from '../../src/cosplay/planView';
import {
  hostModelOf,
  migProfilesIncomplete,
  migProfilesOf,
  smCountFromFp32,
  withReportedMigProfiles,
  hostModelNotes,
  withPlanNotes,
  type HostModel,
} from '../../src/cosplay/unknownHost';
import { parseHostModelQuery, parseLgip, parseQReport, type HostReport } from '../../src/hosts/nvidiaSmi/hostReport';
import { probeHostModel, withHostMigProfiles } from '../../src/cosplay/hostModelProbe';
import { queryHostReport } from '../../src/hosts/gpuProbe';
import { LocalRunner } from '../../src/hosts/runner';
import { repoRoot, smiFixtureDir } from './fixtures';

/** A local runner whose PATH starts with the fake nvidia-smi replaying `scenario`. */
const fakeGpuHost = (scenario: string) =>
  new LocalRunner({
    ...process.env,
    PATH: `${path.join(repoRoot, 'lab/fake-gpu/bin')}:${process.env.PATH}`,
    GPUDEV_FAKE_SMI_SCENARIO: scenario,
  });

const fixture = (name: string) => fs.readFileSync(path.join(smiFixtureDir, `${name}.txt`), 'utf8');
const catalog = builtinCatalog();

function queryOf(line: string) {
  const parsed = parseHostModelQuery(line);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.query;
}

const x999: HostReport = {
  query: queryOf(fixture('constructed-query-x999-host-model')),
  q: parseQReport(fixture('constructed-q-x999')),
  lgip: parseLgip(fixture('constructed-lgip-x999'), 0),
};

function modelOf(report: HostReport, from: Catalog = catalog, measured?: Parameters<typeof hostModelOf>[2]): HostModel {
  const made = hostModelOf(report, from, measured);
  assert.ok(made.ok, made.ok ? '' : made.error);
  return made.model;
}

const figure = (model: HostModel, name: string) => model.figures.find((f) => f.figure === name)!;

describe('host report parsers', () => {
  it('read the host-model query line', () => {
    assert.deepEqual(x999.query, {
      name: 'NVIDIA X999',
      memoryMiB: 196608,
      maxSmClockMHz: 2100,
      maxMemoryClockMHz: 4000,
      powerLimitW: { min: 300, max: 1200 },
      computeCapability: '10.3',
      migEnabled: false,
    });
    assert.equal(queryOf('NVIDIA A30, 24576, 1440, 1215, [N/A], [N/A], 8.0, Enabled').powerLimitW, null);
    assert.ok(queryOf('NVIDIA A30, 24576, 1440, 1215, [N/A], [N/A], 8.0, Enabled').migEnabled);
    assert.ok(!parseHostModelQuery('').ok);
    assert.ok(!parseHostModelQuery('NVIDIA A30, 24576\n').ok);
  });

  it('read architecture, ECC and the default power limit from a verbatim -q report', () => {
    assert.deepEqual(parseQReport(fixture('q-h100-80gb-hbm3-545.23.08-a')), {
      architecture: 'Hopper',
      eccEnabled: true,
      defaultPowerLimitW: 700,
    });
    assert.deepEqual(parseQReport(''), { architecture: null, eccEnabled: null, defaultPowerLimitW: null });
  });

  it('read the profiles of one GPU from a verbatim mig -lgip (the 7g row overflowing its column)', () => {
    const profiles = parseLgip(fixture('lgip-h100-80gb-hbm3-x4'), 2);
    assert.deepEqual(
      profiles.map((p) => [p.name, p.id, p.maxInstances, p.smCount]),
      [
        ['1g.10gb', 19, 7, 16],
        ['1g.10gb+me', 20, 1, 16],
        ['1g.20gb', 15, 4, 26],
        ['2g.20gb', 14, 3, 32],
        ['3g.40gb', 9, 2, 60],
        ['4g.40gb', 5, 1, 64],
        ['7g.80gb', 0, 1, 132],
      ],
    );
    assert.equal(profiles[0]!.memoryMiB, 9984);
    assert.deepEqual(parseLgip('No MIG-supported devices found.\n', 0), []);
  });
});

describe('unknown host models', () => {
  it('plan a made-up NVIDIA X999 from its reports: SMs from mig -lgip, rates of its architecture', () => {
    const model = modelOf(x999);
    const { entry } = model;
    assert.equal(entry.key, 'host-nvidia-x999');
    assert.equal(entry.arch, 'blackwell-gb100');
    assert.equal(entry.smCount, 160);
    assert.equal(entry.fp32Tflops, (160 * 2100 * 256) / 1e6);
    assert.ok(entry.hasEcc);
    assert.deepEqual(entry.host!.powerLimitW, { min: 300, max: 1200 });
    assert.deepEqual(
      entry.host!.migProfiles.map((p) => [p.name, p.memorySlices, p.computeSlices]),
      [
        ['1g.24gb', 1, 1],
        ['1g.24gb+me', 1, 1],
        ['1g.48gb', 2, 1],
        ['2g.48gb', 2, 2],
        ['3g.96gb', 4, 3],
        ['4g.96gb', 4, 4],
        ['7g.192gb', 8, 7],
      ],
    );
    assert.equal(figure(model, 'SMs').source, 'reported');
    assert.equal(figure(model, 'architecture').source, 'reported');
    assert.equal(figure(model, 'memory bandwidth').source, 'modelled');
    assert.equal(figure(model, 'tensor clock').source, 'modelled');
    assert.deepEqual(entry.unverified, ['tensor clock', 'memory bandwidth']);

    const target = catalog.lookup('t4');
    assert.ok(target.ok);
    const planned = planCosplay({ target: target.entry, host: entry, hostGpuCount: 1 });
    assert.ok(planned.ok, planned.ok ? '' : planned.error.message);
    assert.equal(planned.plan.chosen.strategy, 'mig');
    assert.equal(planned.plan.chosen.migProfile!.name, '1g.24gb');
    const noted = withPlanNotes(planned.plan, hostModelNotes(model));
    assert.match(noted.warnings[0]!, /NVIDIA X999 is not in the catalog/);
    assert.ok(
      noted.warnings.includes(
        'host SMs: 160 — reported (mig -lgip, the 7g.192gb profile (outside MIG the GPU may have a few more))',
      ),
    );
    assert.ok(noted.warnings.some((w) => /^host memory bandwidth: .* — modelled \(as /.test(w)));
  });

  it('the plan text and the plan view list every host figure with where it came from', () => {
    const model = modelOf(x999);
    const target = catalog.lookup('rtx3090');
    assert.ok(target.ok);
    const planned = planCosplay({ target: target.entry, host: model.entry });
    assert.ok(planned.ok);
    const plan = withPlanNotes(planned.plan, hostModelNotes(model));
    const args = { target: 'rtx3090', host: model.entry.key, gpu: { index: 0, uuid: null } };
    const text = formatPlan(plan, args);
    const view = planView(plan, args);
    for (const f of model.figures) {
      const line = `host ${f.figure}: ${f.value} — ${f.source} (${f.from})`;
      assert.ok(text.includes(line), `text lacks: ${line}`);
      assert.ok(view.warnings.includes(line), `view lacks: ${line}`);
    }
    assert.match(text, /on NVIDIA X999: /);
  });

  it('reproduces a known GPU it is not told about: an H100 from its verbatim -q and -lgip', () => {
    const withoutH100 = new Catalog(catalog.entries.filter((e) => e.key !== 'h100-sxm'));
    const model = modelOf(
      {
        query: queryOf('NVIDIA H100 80GB HBM3, 81559, 1980, 2619, 200.00, 700.00, 9.0, Disabled'),
        q: parseQReport(fixture('q-h100-80gb-hbm3-545.23.08-a')),
        lgip: parseLgip(fixture('lgip-h100-80gb-hbm3-x4'), 0),
      },
      withoutH100,
    );
    const h100 = catalog.lookup('h100-sxm');
    assert.ok(h100.ok);
    assert.equal(model.entry.smCount, h100.entry.smCount);
    for (const key of ['fp32Tflops', 'bf16Fp32Acc', 'fp8'] as const) {
      const error = Math.abs(model.entry[key]! / h100.entry[key]! - 1);
      assert.ok(error < 0.01, `${key}: ${model.entry[key]} vs ${h100.entry[key]}`);
    }
    assert.equal(model.entry.tdpW, 700);
  });

  it('without MIG: SMs measured by a calibration run, else modelled on the nearest GPU of the architecture', () => {
    const noMig: HostReport = { ...x999, lgip: [] };
    const measured = modelOf(noMig, catalog, { fp32Tflops: 80.6, clockMHz: 1980 });
    assert.equal(measured.entry.smCount, smCountFromFp32(80.6, 1980, 'blackwell-gb100', 'full'));
    assert.equal(measured.entry.smCount, 159);
    assert.equal(figure(measured, 'SMs').source, 'measured');
    assert.equal(modelOf(noMig, catalog, { smCount: 148 }).entry.smCount, 148);
    const modelled = modelOf(noMig);
    assert.equal(figure(modelled, 'SMs').source, 'modelled');
    assert.match(figure(modelled, 'SMs').from, /calibrate to measure it/);
    assert.equal(modelled.entry.host!.migProfiles.length, 0);
  });

  it('a compute capability newer than any known takes the newest known rates, said to be modelled', () => {
    const future = modelOf({ ...x999, query: { ...x999.query, computeCapability: '11.0' } });
    assert.equal(future.entry.arch, 'blackwell-gb100');
    assert.equal(figure(future, 'architecture').source, 'modelled');
    assert.match(figure(future, 'architecture').from, /newest known one, 10\.3/);
  });

  it('without a compute capability (older drivers) the architecture -q names picks the rates', () => {
    const hopper = modelOf({
      ...x999,
      query: { ...x999.query, computeCapability: null },
      q: { ...x999.q, architecture: 'Hopper' },
    });
    assert.equal(hopper.entry.arch, 'hopper');
    assert.equal(figure(hopper, 'architecture').source, 'reported');
    const unnamed = modelOf({
      ...x999,
      query: { ...x999.query, computeCapability: null },
      q: { ...x999.q, architecture: null },
    });
    assert.equal(figure(unnamed, 'architecture').source, 'modelled');
  });

  it('a GeForce it does not know runs tensor math at half rate and has no ECC', () => {
    const model = modelOf({
      query: queryOf('NVIDIA GeForce RTX 5099, 32607, 2600, 14001, 400.00, 600.00, 12.0, [N/A]'),
      q: { architecture: 'Blackwell', eccEnabled: null, defaultPowerLimitW: 575 },
      lgip: [],
    });
    assert.equal(model.entry.arch, 'blackwell');
    assert.equal(model.entry.tensorRate, 'half');
    assert.equal(model.entry.hasEcc, false);
    assert.equal(model.entry.tdpW, 575);
  });
});

describe('reading an unknown host GPU through a real process (the fake GPU)', () => {
  it('queries, -q and mig -lgip answer for the GPU asked; the model is planned from them', async () => {
    const runner = fakeGpuHost('constructed-default-x999-x8');
    const reported = await queryHostReport(runner, 3);
    assert.ok(reported.ok, reported.ok ? '' : reported.error.message);
    assert.deepEqual(reported.report, x999);
    const model = await probeHostModel(runner, 3);
    assert.ok(typeof model !== 'string', typeof model === 'string' ? model : '');
    assert.equal(model.entry.smCount, 160);
  });

  it('a GPU whose query nvidia-smi refuses gives a sentence, not a model', async () => {
    const model = await probeHostModel(fakeGpuHost('default-h100-x8-570.133.20'), 0);
    assert.equal(typeof model, 'string');
    assert.match(
      model as string,
      /nvidia-smi --query-gpu failed on This machine: Field "clocks\.max\.sm" is not a valid field/,
    );
  });

  it('a catalog host without its MIG profiles takes the ones the GPU reports', async () => {
    const b300 = catalog.lookup('b300');
    assert.ok(b300.ok);
    const completed = await withHostMigProfiles(fakeGpuHost('constructed-default-x999-x8'), 1, b300.entry);
    assert.equal(completed.entry.host!.migProfiles.length, 7);
    assert.match(completed.note!, /^MIG profiles 1g\.24gb, .*7g\.192gb of NVIDIA B300 SXM6 AC: reported by the GPU/);
    const h100 = catalog.lookup('h100-sxm');
    assert.ok(h100.ok);
    assert.equal((await withHostMigProfiles(fakeGpuHost('default-h100-x8-570.133.20'), 0, h100.entry)).note, undefined);
  });
});

describe('catalog hosts whose MIG profiles no source listed in full', () => {
  const entry = (key: string) => {
    const found = catalog.lookup(key);
    assert.ok(found.ok, key);
    return found.entry;
  };

  it("are completed from what the GPU reports, the catalog's own profiles kept", () => {
    assert.ok(migProfilesIncomplete(entry('b300')));
    assert.ok(migProfilesIncomplete(entry('gb200')));
    assert.ok(!migProfilesIncomplete(entry('h100-sxm')));
    assert.ok(!migProfilesIncomplete(entry('rtx3090')), 'not a host');
    const reported = parseLgip(fixture('constructed-lgip-x999'), 0);
    const b300 = withReportedMigProfiles(entry('b300'), reported);
    assert.equal(b300.entry.host!.migProfiles.length, 7);
    assert.deepEqual(b300.added, ['1g.24gb', '1g.24gb+me', '1g.48gb', '2g.48gb', '3g.96gb', '4g.96gb', '7g.192gb']);
    const target = planCosplay({ target: entry('rtx3090'), host: b300.entry });
    assert.ok(target.ok && [target.plan.chosen, ...target.plan.alternatives].some((o) => o.strategy === 'mig'));
    const gb200 = withReportedMigProfiles(entry('gb200'), [
      { name: '1g.24gb', id: 19, maxInstances: 7, memoryMiB: 20480, smCount: 18 },
      { name: '7g.189gb', id: 0, maxInstances: 1, memoryMiB: 189440, smCount: 152 },
    ]);
    assert.deepEqual(gb200.added, ['7g.189gb']);
    assert.equal(gb200.entry.host!.migProfiles.find((p) => p.name === '1g.24gb')!.memoryMiB, 20480);
    assert.deepEqual(withReportedMigProfiles(entry('h100-sxm'), reported).added.length, 7, 'merges by name');
    assert.equal(withReportedMigProfiles(entry('rtx3090'), reported).added.length, 0);
  });

  it('leave out profiles numbered unlike A100-B200 (whose placements are unknown)', () => {
    // RTX PRO 6000 Blackwell numbers its 1g.24gb profile 14 (bigstack-oss/cubecos#312).
    assert.deepEqual(migProfilesOf([{ name: '1g.24gb', id: 14, maxInstances: 4, memoryMiB: 23675, smCount: 46 }]), []);
  });
});

describe('the shim contract from the plan', () => {
  const plan = (target: string, host: string) => {
    const [t, h] = [catalog.lookup(target), catalog.lookup(host)];
    assert.ok(t.ok && h.ok);
    const planned = planCosplay({ target: t.entry, host: h.entry });
    assert.ok(planned.ok);
    return planned.plan.container.env;
  };

  it('sets GPUDEV_ECC and GPUDEV_MIG_CAPABLE from the target', () => {
    assert.deepEqual(
      [plan('rtx3090', 'h100-sxm').GPUDEV_ECC, plan('rtx3090', 'h100-sxm').GPUDEV_MIG_CAPABLE],
      ['0', '0'],
    );
    assert.deepEqual(
      [plan('a100-sxm4-40gb', 'h200').GPUDEV_ECC, plan('a100-sxm4-40gb', 'h200').GPUDEV_MIG_CAPABLE],
      ['1', '1'],
    );
    assert.deepEqual([plan('l4', 'h100-sxm').GPUDEV_ECC, plan('l4', 'h100-sxm').GPUDEV_MIG_CAPABLE], ['1', '0']);
  });
});
