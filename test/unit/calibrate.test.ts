import * as assert from 'node:assert/strict';
import { bisectClock, calibrationAim, MAX_CALIBRATION_RUNS } from '../../src/cosplay/calibrate';
import type { EfficiencyRecord } from '../../src/cosplay/efficiency';

/** A GPU whose FP32 rises with the clock: 50 TFLOPS at 1980 MHz. */
const linear = (clockMHz: number) => Promise.resolve((50 * clockMHz) / 1980);

describe('calibration by bisection of the clock lock', () => {
  it('finds the clock that gives the target FP32 in a bounded number of runs', async () => {
    const { runs, best } = await bisectClock(35.6, 495, 1980, linear);
    assert.ok(runs.length <= MAX_CALIBRATION_RUNS);
    assert.equal(runs[0]!.clockMHz, 1980, 'first the top clock');
    assert.ok(Math.abs(best!.fp32 / 35.6 - 1) <= 0.02, JSON.stringify(runs));
    assert.ok(
      runs.every((r) => r.clockMHz % 15 === 0),
      'nvidia-smi clocks come in 15 MHz steps',
    );
  });

  it('stops after one run when even the top clock is too slow', async () => {
    const { runs, best } = await bisectClock(80, 495, 1980, linear);
    assert.deepEqual(runs, [{ clockMHz: 1980, fp32: 50 }]);
    assert.equal(best!.clockMHz, 1980);
  });

  it('keeps the closest run, never more than the bound, even on a noisy GPU', async () => {
    let call = 0;
    const noisy = (clock: number) => Promise.resolve(((50 * clock) / 1980) * (call++ % 2 ? 1.08 : 0.93));
    const { runs, best } = await bisectClock(35.6, 495, 1980, noisy, 4);
    assert.equal(runs.length, 4);
    assert.equal(best, [...runs].sort((a, b) => Math.abs(a.fp32 - 35.6) - Math.abs(b.fp32 - 35.6))[0]);
  });

  it('a failed run ends the search with what went wrong', async () => {
    const { runs, error } = await bisectClock(35.6, 495, 1980, (clock) =>
      Promise.resolve(clock === 1980 ? 50 : { message: 'nvidia-smi -lgc: insufficient permissions' }),
    );
    assert.equal(runs.length, 1);
    assert.match(error!.message, /insufficient permissions/);
  });
});

describe('calibration against the achievable rate', () => {
  // An H100 slice whose GEMMs reach 80% of its modelled FP32 (cuBLAS never reaches the datasheet):
  // 40 TFLOPS at 1980 MHz where the model says 50.
  const efficient = (clockMHz: number) => Promise.resolve((0.8 * 50 * clockMHz) / 1980);
  const record = (fp32: number): EfficiencyRecord => ({
    hostModel: 'h100-sxm',
    driver: '570.86.15',
    torch: '2.7.0+cu126',
    cuda: '12.6',
    at: '2026-12-03T12:00:00.000Z',
    session: 'gpudev-rtx3090-gpu0-abcd',
    strategy: 'mps',
    efficiency: { fp32 },
    measured: { fp32: 50 * fp32 },
    peak: { fp32: 50 },
  });

  it("aims at the target's datasheet × the host's efficiency, and keeps the plan's clock", async () => {
    const { aim, note } = calibrationAim(35.6, record(0.8));
    assert.ok(Math.abs(aim - 28.48) < 1e-9);
    assert.equal(note, undefined);
    const { runs, best } = await bisectClock(aim, 1410 / 4, 1410, efficient);
    assert.ok(Math.abs(best!.fp32 / aim - 1) <= 0.02, JSON.stringify(runs));
    assert.equal(best!.clockMHz, 1410, "the plan's clock was right: the datasheet gap is the host's efficiency");
  });

  it('aimed at the datasheet it would lift the throttle; it never ends above the clock it started from', async () => {
    const { runs, best } = await bisectClock(35.6, 1412 / 4, 1412, efficient);
    assert.deepEqual(
      runs.map((r) => r.clockMHz),
      [1410],
      'too slow at its own clock: kept, not raised toward boost',
    );
    assert.ok(best!.clockMHz <= 1412);
    for (let top = 1000; top <= 1990; top += 7) {
      const search = await bisectClock(10, top / 4, top, efficient);
      assert.ok(
        search.runs.every((r) => r.clockMHz <= top),
        `${top}: ${JSON.stringify(search.runs)}`,
      );
    }
  });

  it('falls back to the datasheet, saying why, without a usable efficiency', () => {
    assert.deepEqual(calibrationAim(35.6, undefined), {
      aim: 35.6,
      note: "aimed at the datasheet: this host's efficiency is not measured yet",
    });
    const above = calibrationAim(35.6, record(1.54));
    assert.equal(above.aim, 35.6);
    assert.match(above.note!, /measured 154% of its modelled peak un-throttled: the host's model is off/);
  });
});
