// Calibration: when the measured FP32 is off the target's achievable rate (its datasheet × the host's
// efficiency, measured un-throttled once per host model, driver and torch), bisect the graphics clock
// lock (a bounded number of FP32-only bench runs) under the GPU's host lock, between a quarter of the
// clock the session runs at and that clock, keep the clock that comes closest, and record it in the
// host journal (the clock lock is journalled before the first run changes it). Calibration only ever
// slows the GPU from where it stands; it never lifts the throttle.
import type { GpuDevError } from '../core/errors';
import {
  fileEfficiencyStore,
  predictedAtClock,
  usableEfficiency,
  type EfficiencyRecord,
  type EfficiencyStore,
} from './efficiency';
import { TOLERANCE } from './fidelity';
import type { GpuJournal, GpuWideStep } from './journal';
import type { Session } from './session';
import type { SessionHost } from './sessions';
import { benchVersions, gpuControls, isError, measureUnthrottled, runBench, withGpuToOneself } from './unthrottled';

export const MAX_CALIBRATION_RUNS = 7;
const CLOCK_STEP_MHZ = 15;
/** Close enough to stop early. */
const GOOD_ENOUGH = 0.02;

export interface CalibrationRun {
  readonly clockMHz: number;
  readonly fp32: number;
}

const snap = (mhz: number) => Math.round(mhz / CLOCK_STEP_MHZ) * CLOCK_STEP_MHZ;

/**
 * Bisects [low, high] MHz for the clock whose FP32 (rising with the clock) is closest to `target`;
 * `measure` locks the clock and returns the FP32 it measured, or what went wrong.
 */
export async function bisectClock(
  target: number,
  lowMHz: number,
  highMHz: number,
  measure: (clockMHz: number) => Promise<number | GpuDevError>,
  maxRuns = MAX_CALIBRATION_RUNS,
): Promise<{ runs: CalibrationRun[]; best?: CalibrationRun; error?: GpuDevError }> {
  const runs: CalibrationRun[] = [];
  let low = snap(lowMHz);
  // Rounded down: the search never ends above the clock it started from.
  let high = Math.floor(highMHz / CLOCK_STEP_MHZ) * CLOCK_STEP_MHZ;
  const best = () => [...runs].sort((a, b) => Math.abs(a.fp32 - target) - Math.abs(b.fp32 - target))[0];
  while (runs.length < maxRuns && high - low >= CLOCK_STEP_MHZ) {
    const clockMHz = runs.length === 0 ? high : snap((low + high) / 2);
    if (runs.some((r) => r.clockMHz === clockMHz)) break;
    const fp32 = await measure(clockMHz);
    if (typeof fp32 !== 'number') return { runs, best: best(), error: fp32 };
    runs.push({ clockMHz, fp32 });
    if (Math.abs(fp32 / target - 1) <= GOOD_ENOUGH) break;
    if (fp32 > target) high = clockMHz;
    else if (runs.length === 1)
      break; // already too slow at the top clock: nothing to gain
    else low = clockMHz;
  }
  return { runs, best: best() };
}

export type CalibrationOutcome =
  | {
      readonly ok: true;
      readonly runs: readonly CalibrationRun[];
      readonly best: CalibrationRun;
      readonly withinTolerance: boolean;
      /** The FP32 calibration aimed at: the target's datasheet × the host's efficiency where usable. */
      readonly aim: number;
      /** The target's datasheet FP32. */
      readonly datasheet: number;
      /** Why the aim is the datasheet, where it is. */
      readonly aimNote?: string;
      readonly efficiency?: EfficiencyRecord;
    }
  | { readonly ok: false; readonly error: GpuDevError; readonly runs: readonly CalibrationRun[] };

export interface CalibrationRequest {
  readonly session: Session;
  readonly onRun?: (run: CalibrationRun, index: number) => void;
  /** Where the host's efficiency is kept: ~/.cache/gpudev/efficiency.json unless given. */
  readonly efficiency?: EfficiencyStore;
}

/** The FP32 to aim at: the target's datasheet scaled by the host's un-throttled efficiency where usable. */
export function calibrationAim(
  datasheet: number,
  record: EfficiencyRecord | undefined,
): { aim: number; note?: string } {
  const efficiency = usableEfficiency(record, 'fp32');
  return typeof efficiency === 'number'
    ? { aim: datasheet * efficiency }
    : { aim: datasheet, note: `aimed at the datasheet: ${efficiency}` };
}

/** Calibrates a running session's clock lock; on failure the GPU's clocks are put back as they were. */
export async function calibrateSession(request: CalibrationRequest, host: SessionHost): Promise<CalibrationOutcome> {
  const { session } = request;
  const store = request.efficiency ?? fileEfficiencyStore();
  const fail = (message: string, runs: readonly CalibrationRun[] = [], hint?: string): CalibrationOutcome => ({
    ok: false,
    error: { message, hint },
    runs,
  });
  const target = session.plan.expected.find((e) => e.metric === 'fp32')?.target;
  const boost = session.plan.boostClockMHz;
  if (!target || !boost)
    return fail(
      `${session.name} does not record its target FP32 or the host's boost clock`,
      [],
      'apply the cosplay again to calibrate it',
    );
  if (!session.running || !session.containerId) return fail(`${session.name} is not running`);
  const containerId = session.containerId;
  let runs: CalibrationRun[] = [];
  const outcome = await withGpuToOneself(session, host, 'calibrate', async (read) => {
    // The bench runs on the session's first GPU; every GPU of the session gets the clock found there.
    const gpus = read.map((journal) => new GpuClockLock(journal, session.name, host, boost));
    const primary = gpus[0]!;
    const versions = await benchVersions(host, containerId);
    if (isError(versions)) return versions;
    const stored = await store.find(session.plan.host, versions);
    const measured = stored ?? (await measureUnthrottled(session, host, primary.journal, store));
    if (isError(measured) && 'unrestored' in measured) return measured;
    const efficiency = isError(measured) ? undefined : measured;
    const aimed = calibrationAim(target, efficiency);
    const { aim } = aimed;
    const note = isError(measured)
      ? `aimed at the datasheet: the host's efficiency could not be measured: ${measured.message}`
      : aimed.note;
    const putBack = async () => {
      for (const gpu of gpus) await gpu.putBack();
    };
    for (const gpu of gpus) {
      const recorded = await gpu.recordIntended();
      if (recorded) {
        await putBack();
        return recorded;
      }
    }
    const measure = async (clockMHz: number): Promise<number | GpuDevError> => {
      const locked = await primary.set(clockMHz);
      if (!locked.ok) return locked.error;
      const output = await runBench(host, containerId, ['--only', 'fp32', '--samples', '3']);
      if (isError(output)) return output;
      return output.results.find((r) => r.metric === 'fp32')?.median ?? { message: 'bench.py measured no FP32' };
    };
    let index = 0;
    const search = await bisectClock(aim, primary.top / 4, primary.top, async (clock) => {
      const fp32 = await measure(clock);
      if (typeof fp32 === 'number') request.onRun?.({ clockMHz: clock, fp32 }, index++);
      return fp32;
    });
    runs = search.runs;
    const { best, error } = search;
    if (error || !best) {
      await putBack();
      return { message: `calibration stopped: ${error?.message ?? 'nothing was measured'}` };
    }
    for (const gpu of gpus) {
      const locked = await gpu.set(best.clockMHz);
      if (!locked.ok) {
        await putBack();
        return { message: `could not lock the best clock (${best.clockMHz} MHz): ${locked.error.message}` };
      }
    }
    for (const gpu of gpus) {
      const saved = await gpu.recordDone(best.clockMHz);
      if (saved) return { message: `the calibrated clock could not be recorded: ${saved.message}` };
    }
    return {
      ok: true as const,
      runs,
      best,
      withinTolerance: Math.abs(best.fp32 / aim - 1) <= TOLERANCE,
      aim,
      datasheet: target,
      ...(note && { aimNote: note }),
      ...(efficiency && { efficiency }),
    };
  });
  return 'ok' in outcome ? outcome : fail(outcome.message, runs, outcome.hint);
}

/**
 * One GPU's clock lock while a session is calibrated: journalled before the first run changes it,
 * then either put back as it was or recorded at the calibrated clock (the session's predictions with it).
 */
class GpuClockLock {
  private readonly existing: GpuWideStep | undefined;
  private readonly before: number | null;
  private readonly controls: ReturnType<typeof gpuControls>;
  /** The clock the GPU runs at now: calibration never ends above it. */
  readonly top: number;

  constructor(
    public journal: GpuJournal,
    private readonly sessionName: string,
    private readonly host: SessionHost,
    boostMHz: number,
  ) {
    this.existing = journal.gpuWide.find((s) => s.change.kind === 'clockLock' && s.state !== 'undone');
    this.before = this.existing?.change.kind === 'clockLock' ? this.existing.change.mhz : null;
    this.top = this.before ?? boostMHz;
    this.controls = gpuControls(host, journal.gpuUuid);
  }

  set(mhz: number) {
    return this.controls.setClock(Math.min(mhz, Math.floor(this.top)));
  }

  recordIntended(): Promise<GpuDevError | undefined> {
    if (this.existing) return Promise.resolve(undefined);
    return this.save({
      ...this.journal,
      gpuWide: [...this.journal.gpuWide, this.entry(Math.round(this.top), 'intended')],
    });
  }

  async putBack(): Promise<void> {
    await this.controls.setClock(this.before);
    if (!this.existing)
      await this.save({
        ...this.journal,
        gpuWide: this.journal.gpuWide.filter((s) => !(s.change.kind === 'clockLock' && s.state === 'intended')),
      });
  }

  recordDone(mhz: number): Promise<GpuDevError | undefined> {
    const locked = Math.min(mhz, Math.floor(this.top));
    const gpuWide = this.journal.gpuWide.map((s) =>
      s.change.kind === 'clockLock' && s.state !== 'undone' ? this.entry(locked, 'done') : s,
    );
    // The plan's predictions follow the clock lock, so the un-throttled peak stays derivable from them.
    const sessions = this.journal.sessions.map((s) =>
      s.name === this.sessionName ? { ...s, plan: predictedAtClock(s.plan, locked) } : s,
    );
    return this.save({ ...this.journal, gpuWide, sessions });
  }

  private entry(mhz: number, state: GpuWideStep['state']): GpuWideStep {
    return {
      change: { kind: 'clockLock', mhz },
      state,
      at: new Date().toISOString(),
      by: this.existing?.by ?? this.sessionName,
    };
  }

  private async save(next: GpuJournal): Promise<GpuDevError | undefined> {
    this.journal = next;
    return this.host.journal.write(next);
  }
}

/** "aim 28.5 TFLOPS: the datasheet's 35.6 × the host's 80% efficiency", or why the datasheet. */
export function aimText(outcome: Extract<CalibrationOutcome, { ok: true }>): string {
  const efficiency = outcome.efficiency?.efficiency.fp32;
  return outcome.aimNote || efficiency === undefined
    ? `aim ${outcome.aim.toFixed(1)} TFLOPS, ${outcome.aimNote ?? 'the datasheet'}`
    : `aim ${outcome.aim.toFixed(1)} TFLOPS: the datasheet's ${outcome.datasheet} × the host's ${Math.round(efficiency * 100)}% efficiency`;
}
