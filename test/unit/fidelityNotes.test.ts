import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseFidelityReport } from '../../src/cosplay/benchReport';
import { fidelityNote, measuredNote, TOLERANCE } from '../../src/cosplay/fidelity';
import { fidelityView } from '../../src/cosplay/fidelityView';
import { repoRoot } from './fixtures';

const recorded = parseFidelityReport(
  fs.readFileSync(
    path.join(repoRoot, 'test/fixtures/reports/rtx3090-on-This-machine-2026-11-23T13-31-00Z.json'),
    'utf8',
  ),
)!;

describe('fidelity report notes', () => {
  it('every ratio outside ±10% says why, exactly where fidelity is worst; a match says nothing', () => {
    const view = fidelityView(recorded, [], null);
    const note = (label: string) => view.rows.find((r) => r.label === label)!.note;
    for (const row of view.rows)
      assert.equal(row.note !== '', row.level === 'off', `${row.label} (${row.ratio?.toFixed(2)}): "${row.note}"`);
    assert.equal(note('FP32'), '');
    assert.match(note('BF16 tensor'), /tensor cores of a newer architecture: .* cannot slow them enough/);
    assert.match(note('Bandwidth'), /HBM bandwidth that a memory cap does not reduce/);
    assert.match(note('Bandwidth'), /a MIG profile with fewer memory slices comes closer/, 'and what would help');
  });

  it('has a note for every measured metric, strategy and direction, and keeps what the bench said', () => {
    for (const metric of ['fp32', 'bf16', 'fp16', 'tf32', 'bandwidth'])
      for (const strategy of ['mig', 'mps', 'memory'])
        for (const ratio of [0.5, 1 - TOLERANCE - 0.01, 1 + TOLERANCE + 0.01, 11]) {
          assert.notEqual(measuredNote(metric, ratio, strategy), '', `${metric} ${strategy} ${ratio}`);
          assert.equal(measuredNote(metric, 1 + TOLERANCE / 2, strategy), '');
        }
    assert.equal(measuredNote('fp32', null, 'mig'), '');
    assert.match(measuredNote('fp32', 1.4, 'mig'), /Calibrate/);
    const skipped = {
      ...recorded,
      rows: recorded.rows.map((r) =>
        r.metric === 'tf32' ? { ...r, measured: null, ratio: null, note: 'no torch' } : r,
      ),
    };
    assert.equal(fidelityView(skipped, [], null).rows.find((r) => r.label === 'TF32 tensor')!.note, 'no torch');
  });
});

describe('fidelity report notes with an achievable rate', () => {
  const both = parseFidelityReport(
    fs.readFileSync(
      path.join(repoRoot, 'test/fixtures/reports/rtx3090-on-This-machine-2026-12-03T15-00-00Z.json'),
      'utf8',
    ),
  )!;
  const view = fidelityView(both, [], null);
  const row = (label: string) => view.rows.find((r) => r.label === label)!;
  const off = (ratio: number | null) => ratio !== null && Math.abs(ratio - 1) > TOLERANCE;

  it('a note on every ratio outside ±10%, against the datasheet or the achievable rate; none where both match', () => {
    for (const r of view.rows.filter((r) => r.target !== null))
      assert.equal(r.note !== '', off(r.ratio) || off(r.achievableRatio), `${r.label}: "${r.note}"`);
  });

  it("FP32 below the datasheet but at the achievable rate: a match, with the host's efficiency as the reason", () => {
    const fp32 = row('FP32');
    assert.equal(fp32.level, 'match', 'judged against the achievable rate');
    assert.match(
      fp32.note,
      /^74% of the datasheet: no GPU reaches its datasheet; this host reaches 75% of its own peak un-throttled/,
    );
    assert.doesNotMatch(fp32.note, /of achievable/);
    assert.equal(
      row('BF16 tensor').note,
      `598% of the datasheet (this host reaches 81% of its own peak un-throttled); 739% of achievable: ${measuredNote('bf16', 7.39, 'memory')}`,
      'too fast: the efficiency is no excuse',
    );
    assert.equal(row('All-reduce bus bandwidth').note, 'not measured: 1 GPU visible: an all-reduce needs at least 2');
  });

  it('shows the torch, CUDA and driver versions and where the efficiency came from', () => {
    assert.equal(
      view.versions,
      'torch 0.0-fake · CUDA 12.4 · driver 535.104.12 · efficiency measured un-throttled in gpudev-rtx3090-gpu0-0001 (memory) at 2026-12-03 15:00:00 UTC',
    );
    assert.match(fidelityView(recorded, [], null).versions!, /versions not recorded · no efficiency measured/);
  });

  it('without a usable efficiency the note says why there is no achievable rate', () => {
    const note = fidelityNote(
      {
        metric: 'fp32',
        ratio: 1.4,
        achievableRatio: null,
        achievableNote: "this host's efficiency is not measured yet",
      },
      'mig',
    );
    assert.match(
      note,
      /Calibrate bisects .* \(no achievable rate to compare with: this host's efficiency is not measured yet\)$/,
    );
  });
});
