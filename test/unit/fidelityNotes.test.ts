import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseFidelityReport } from '../../src/cosplay/benchReport';
import { measuredNote, TOLERANCE } from '../../src/cosplay/fidelity';
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
