// The details chart's time axis, pure (unit-tested): what it spans for the samples it has.

/** The shortest span the axis shows (seconds), so one sample or a few seconds of them still read as a point in time. */
export const MIN_SPAN_S = 60;

/**
 * [start, end] of the time axis in seconds: the samples it has, newest at the right edge, until
 * `historyS` of them are recorded; from then on the last `historyS` seconds. Never shorter than
 * MIN_SPAN_S (then the newest sample stays at the right edge too); without samples, the minute up to now.
 */
export function timeAxisRange(
  firstS: number | undefined,
  lastS: number | undefined,
  historyS: number,
  nowS = Date.now() / 1000,
): [number, number] {
  if (firstS === undefined || lastS === undefined) return [nowS - MIN_SPAN_S, nowS];
  const span = Math.min(historyS, Math.max(MIN_SPAN_S, lastS - firstS));
  return [lastS - span, lastS];
}

/** The heading over the chart: what it shows, "last 4 minutes" until the whole window is recorded. */
export function spanWords(firstS: number | undefined, lastS: number | undefined, historyS: number): string {
  const [start, end] = timeAxisRange(firstS, lastS, historyS);
  const minutes = Math.round((end - start) / 60);
  return minutes <= 1 ? 'last minute' : `last ${minutes} minutes`;
}
