import * as assert from 'node:assert/strict';
import { MIN_SPAN_S, spanWords, timeAxisRange } from '../../webviews/details/timeAxis';

const TEN_MINUTES_S = 600;

describe('the GPU details chart time axis', () => {
  it('spans the samples it has until ten minutes are recorded, newest at the right edge', () => {
    assert.deepEqual(timeAxisRange(1000, 1090, TEN_MINUTES_S), [1000, 1090], 'a minute and a half of data');
    assert.deepEqual(timeAxisRange(1000, 1400, TEN_MINUTES_S), [1000, 1400]);
    assert.equal(spanWords(1000, 1400, TEN_MINUTES_S), 'last 7 minutes');
  });

  it('then the last ten minutes, older samples off the left edge', () => {
    assert.deepEqual(timeAxisRange(1000, 1600, TEN_MINUTES_S), [1000, 1600]);
    assert.deepEqual(timeAxisRange(1000, 2000, TEN_MINUTES_S), [1400, 2000]);
    assert.equal(spanWords(1000, 2000, TEN_MINUTES_S), 'last 10 minutes');
  });

  it('a single sample or a few seconds of them: a minute, ending at the newest', () => {
    assert.deepEqual(timeAxisRange(1000, 1000, TEN_MINUTES_S), [1000 - MIN_SPAN_S, 1000]);
    assert.deepEqual(timeAxisRange(1000, 1005, TEN_MINUTES_S), [1005 - MIN_SPAN_S, 1005]);
    assert.equal(spanWords(1000, 1005, TEN_MINUTES_S), 'last minute');
  });

  it('without samples, the minute up to now', () => {
    assert.deepEqual(timeAxisRange(undefined, undefined, TEN_MINUTES_S, 5000), [5000 - MIN_SPAN_S, 5000]);
  });
});
