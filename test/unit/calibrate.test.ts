import * as assert from 'node:assert/strict';
import { bisectClock, MAX_CALIBRATION_RUNS } from '../../src/cosplay/calibrate';

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
