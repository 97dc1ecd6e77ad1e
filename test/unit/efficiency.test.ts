import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { fidelityReport, parseBenchOutput, parseFidelityReport, type BenchOutput } from '../../src/cosplay/benchReport';
import {
  efficiencyRecord,
  fileEfficiencyStore,
  predictedAtClock,
  unthrottledPeaks,
  usableEfficiency,
  type EfficiencyRecord,
} from '../../src/cosplay/efficiency';
import { sessionPlanOf } from '../../src/cosplay/journalTerms';
import { planCosplay } from '../../src/cosplay/planner';
import type { Session } from '../../src/cosplay/session';
import { repoRoot } from './fixtures';
import { tempDir } from './tempDir';

const reports = path.join(repoRoot, 'test/fixtures/reports');
const bench = (name: string): BenchOutput => {
  const parsed = parseBenchOutput(fs.readFileSync(path.join(reports, 'bench', name), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.output;
};
const entry = (key: string) => {
  const found = builtinCatalog().lookup(key);
  if (!found.ok) throw new Error(key);
  return found.entry;
};
const planOf = (strategy: 'memory' | 'mps' | 'mig') => {
  const result = planCosplay({ target: entry('rtx3090'), host: entry('h100-sxm'), strategy });
  if (!result.ok) throw new Error(result.error.message);
  return sessionPlanOf(result.plan, 'GPU-00000000-fa6e-0000-0000-000000000000');
};
const sessionOf = (plan: Session['plan']): Session => ({
  name: 'gpudev-rtx3090-gpu0-fa6e',
  owner: 'ada@laptop',
  containerId: 'c0ffee',
  running: true,
  state: 'running',
  createdMs: 0,
  hostLabel: 'This machine',
  gpuIndex: 0,
  gpuUuid: 'GPU-00000000-fa6e-0000-0000-000000000000',
  journal: 'user',
  changes: [],
  plan,
});
const at = new Date('2026-12-03T15:00:00.000Z');
const REPORT = 'rtx3090-on-This-machine-2026-12-03T15-00-00Z.json';

describe("the host's efficiency", () => {
  it('is measured against the peak of the share the session has, without its clock lock', () => {
    const memory = planOf('memory');
    const h100 = entry('h100-sxm');
    assert.deepEqual(unthrottledPeaks(memory), {
      fp32: memory.expected[0]!.predicted,
      bf16: memory.expected[1]!.predicted,
      fp16: memory.expected[2]!.predicted,
      tf32: memory.expected[3]!.predicted,
      bandwidth: h100.bandwidthGBs,
    });
    assert.ok(Math.abs(unthrottledPeaks(memory).fp32! - 66.9) < 0.05, 'FP32 at boost: the datasheet');
    // MPS locks 1965 MHz: FP32's peak is at boost (1980), tensor math's at the tensor clock (1830).
    const mps = planOf('mps');
    const peaks = unthrottledPeaks(mps);
    assert.equal(mps.clockLockMHz, 1965);
    assert.ok(Math.abs(peaks.fp32! - (mps.expected[0]!.predicted! * 1980) / 1965) < 1e-9);
    assert.ok(Math.abs(peaks.bf16! - (mps.expected[1]!.predicted! * 1830) / 1965) < 1e-9);
    assert.equal(peaks.bandwidth, mps.expected[4]!.predicted);
  });

  it("the plan's predictions follow a new clock lock, and its un-throttled peaks stay", () => {
    const memory = planOf('memory');
    const locked = predictedAtClock(memory, 1050);
    assert.equal(locked.clockLockMHz, 1050);
    assert.ok(Math.abs(locked.expected[0]!.predicted! - (66.90816 * 1050) / 1980) < 1e-9);
    assert.equal(locked.expected[4]!.predicted, 3350, 'bandwidth is not clock-locked');
    for (const [metric, peak] of Object.entries(unthrottledPeaks(memory)))
      assert.ok(Math.abs(unthrottledPeaks(locked)[metric]! - peak) < 1e-9, metric);
    assert.deepEqual(predictedAtClock(locked, null).expected, memory.expected);
  });

  it('from a recorded un-throttled bench, keyed by host model, driver and torch', () => {
    const record = efficiencyRecord(bench('unthrottled-h100.json'), planOf('memory'), 'gpudev-x', at);
    if (typeof record === 'string') assert.fail(record);
    assert.deepEqual(
      [record.hostModel, record.driver, record.torch, record.cuda],
      ['h100-sxm', '535.104.12', '0.0-fake', '12.4'],
    );
    assert.ok(Math.abs(record.efficiency.fp32! - 50 / 66.90816) < 1e-6);
    assert.ok(Math.abs(record.efficiency.bf16! - 800 / 989.42976) < 1e-6);
    assert.ok(Math.abs(record.efficiency.bandwidth! - 3000 / 3350) < 1e-6);
    const unversioned = { ...bench('unthrottled-h100.json'), versions: { torch: '2.7.0', cuda: null, driver: null } };
    assert.equal(
      efficiencyRecord(unversioned, planOf('memory'), 'x', at),
      'bench.py reported no driver or torch version to key the efficiency by',
    );
  });

  it('above 100% of the modelled peak the model is off, and the datasheet stands', () => {
    // The test stand-in's torch runs a MIG slice at the whole H100's rates: 154% of the slice's peak.
    const record = efficiencyRecord(bench('unthrottled-h100.json'), planOf('mig'), 'x', at) as EfficiencyRecord;
    assert.match(String(usableEfficiency(record, 'fp32')), /measured 154% of its modelled peak/);
    assert.equal(usableEfficiency(undefined, 'fp32'), "this host's efficiency is not measured yet");
    assert.equal(usableEfficiency(record, 'fp8'), 'not measured in the un-throttled run');
  });

  it('is stored once per key in a file, replaced when measured again', async () => {
    const file = path.join(tempDir('gpudev-efficiency-'), 'sub', 'efficiency.json');
    const store = fileEfficiencyStore(file);
    const record = efficiencyRecord(bench('unthrottled-h100.json'), planOf('memory'), 'x', at) as EfficiencyRecord;
    const versions = { driver: '535.104.12', torch: '0.0-fake' };
    assert.equal(await store.find('h100-sxm', versions), undefined, 'no file yet');
    await store.save(record);
    await store.save({ ...record, driver: '570.133.20' });
    await store.save({ ...record, at: '2026-12-04T00:00:00.000Z' });
    assert.equal((await store.find('h100-sxm', versions))?.at, '2026-12-04T00:00:00.000Z');
    assert.equal((await store.find('h100-sxm', { ...versions, torch: '2.7.0' })) ?? null, null);
    assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as { records: unknown[] }).records.length, 2);
    fs.writeFileSync(file, '{"version": 1, "records": [{"hostModel": 1}]}');
    assert.equal(await store.find('h100-sxm', versions), undefined, 'an invalid file counts as empty');
  });
});

describe('a fidelity report with both ratios', () => {
  // A memory-cap session on an H100, calibrated to 1050 MHz, and the host's efficiency from an
  // un-throttled run: both bench outputs recorded from bench.py on the test stand-in (README.md).
  const record = efficiencyRecord(bench('unthrottled-h100.json'), planOf('memory'), 'gpudev-rtx3090-gpu0-0001', at);
  const session = sessionOf(predictedAtClock(planOf('memory'), 1050));
  const computed = fidelityReport(session, bench('rtx3090-memory-1050mhz.json'), at, record as EfficiencyRecord);

  it('is the recorded report (UPDATE_FIXTURES=1 rewrites it)', () => {
    const file = path.join(reports, REPORT);
    if (process.env.UPDATE_FIXTURES === '1') fs.writeFileSync(file, `${JSON.stringify(computed, null, 2)}\n`);
    assert.deepEqual(parseFidelityReport(fs.readFileSync(file, 'utf8')), computed);
  });

  it('compares with the datasheet and with the datasheet × the efficiency', () => {
    const fp32 = computed.rows.find((r) => r.metric === 'fp32')!;
    assert.ok(Math.abs(fp32.achievable! - 35.6 * (50 / 66.90816)) < 1e-6);
    assert.ok(Math.abs(fp32.ratio! - 26.515 / 35.6) < 0.001, 'off against the datasheet');
    assert.ok(Math.abs(fp32.achievableRatio! - 1) < 0.01, 'on target against what the target achieves');
    assert.deepEqual(computed.versions, { torch: '0.0-fake', cuda: '12.4', driver: '535.104.12' });
    assert.equal(computed.efficiencyFrom?.session, 'gpudev-rtx3090-gpu0-0001');
    assert.match(fp32.shape ?? '', /^\d+×\d+×\d+$/);
    const allReduce = computed.rows.find((r) => r.metric === 'allreduce')!;
    assert.equal(allReduce.note, 'not measured: 1 GPU visible: an all-reduce needs at least 2');
  });

  it('a measured all-reduce is a row of its own, in bus bandwidth', () => {
    const output = bench('rtx3090-memory-1050mhz.json');
    const two: BenchOutput = {
      ...output,
      skipped: {},
      results: [
        ...output.results,
        { metric: 'allreduce', unit: 'GB/s', size: 512 * 2 ** 20, ranks: 2, samples: [250, 251], median: 250.5 },
      ],
    };
    const row = fidelityReport(session, two, at).rows.find((r) => r.metric === 'allreduce')!;
    assert.equal(row.measured, 250.5);
    assert.match(row.note, /^2 GPUs, 512 MiB per GPU; bus bandwidth as nccl-tests computes it/);
  });
});
