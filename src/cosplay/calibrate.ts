// Calibration: when the measured FP32 is off the target's, bisect the graphics clock lock (a bounded
// number of FP32-only bench runs) under the GPU's host lock, keep the clock that comes closest, and
// record it in the host journal (the clock lock is journalled before the first run changes it).
import type { GpuDevError } from '../core/errors';
import { DockerFailure } from '../hosts/docker';
import { parseBenchOutput } from './benchReport';
import { argv } from './changes';
import { TOLERANCE } from './fidelity';
import { runHostCommand } from './hostCommands';
import { SHIM_DIR } from './hostProfile';
import type { GpuJournal, GpuWideStep } from './journal';
import type { Session } from './session';
import type { SessionHost } from './sessions';

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
  let high = snap(highMHz);
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
    }
  | { readonly ok: false; readonly error: GpuDevError; readonly runs: readonly CalibrationRun[] };

export interface CalibrationRequest {
  readonly session: Session;
  readonly onRun?: (run: CalibrationRun, index: number) => void;
}

/** Calibrates a running session's clock lock; on failure the GPU's clocks are put back as they were. */
export async function calibrateSession(request: CalibrationRequest, host: SessionHost): Promise<CalibrationOutcome> {
  const { session } = request;
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
  const lock = await host.journal.lock(session.gpuUuid, `${host.owner} (calibrate ${session.name})`, host.onWait);
  if ('message' in lock) return fail(lock.message);
  try {
    const read = await host.journal.read(session.gpuUuid);
    if ('message' in read) return fail(read.message);
    const other = read.sessions.find((s) => s.name !== session.name);
    if (other)
      return fail(
        `session "${other.name}" (${other.owner}) shares this GPU: its clocks would change too`,
        [],
        'stop it first, or calibrate that one',
      );
    if (!read.sessions.some((s) => s.name === session.name))
      return fail(`the host journal no longer records ${session.name}`);
    let journal: GpuJournal = read;
    const save = async (next: GpuJournal) => {
      journal = next;
      return host.journal.write(next);
    };
    const uuid = session.gpuUuid;
    const setClock = (mhz: number | null) =>
      runHostCommand(
        host.runner,
        { argv: mhz === null ? argv.resetClocks(uuid) : argv.lockClocks(uuid, String(mhz)) },
        host.journal.sudo,
      );
    const existing = journal.gpuWide.find((s) => s.change.kind === 'clockLock' && s.state !== 'undone');
    const before = existing?.change.kind === 'clockLock' ? existing.change.mhz : null;
    // Journalled before the first run changes the clock, so a crash mid-way leaves an undoable record.
    const entry = (mhz: number, state: GpuWideStep['state']): GpuWideStep => ({
      change: { kind: 'clockLock', mhz },
      state,
      at: new Date().toISOString(),
      by: existing?.by ?? session.name,
    });
    const recorded = await save({
      ...journal,
      gpuWide: existing ? journal.gpuWide : [...journal.gpuWide, entry(Math.round(boost), 'intended')],
    });
    if (recorded) return fail(recorded.message);
    const putBack = async () => {
      await setClock(before);
      if (!existing)
        await save({
          ...journal,
          gpuWide: journal.gpuWide.filter((s) => !(s.change.kind === 'clockLock' && s.state === 'intended')),
        });
    };
    const measure = async (clockMHz: number): Promise<number | GpuDevError> => {
      const locked = await setClock(clockMHz);
      if (!locked.ok) return locked.error;
      try {
        const result = await host.docker.exec(containerId, [
          'python3',
          `${SHIM_DIR}/bench.py`,
          '--json',
          '--only',
          'fp32',
          '--samples',
          '3',
        ]);
        const parsed = parseBenchOutput(result.stdout);
        const fp32 = parsed.ok ? parsed.output.results.find((r) => r.metric === 'fp32')?.median : undefined;
        return fp32 ?? { message: parsed.ok ? 'bench.py measured no FP32' : parsed.error };
      } catch (error) {
        return error instanceof DockerFailure ? error.failure : { message: String(error) };
      }
    };
    let index = 0;
    const { runs, best, error } = await bisectClock(target, boost / 4, boost, async (clock) => {
      const fp32 = await measure(clock);
      if (typeof fp32 === 'number') request.onRun?.({ clockMHz: clock, fp32 }, index++);
      return fp32;
    });
    if (error || !best) {
      await putBack();
      return fail(`calibration stopped: ${error?.message ?? 'nothing was measured'}`, runs);
    }
    const locked = await setClock(best.clockMHz);
    if (!locked.ok) {
      await putBack();
      return fail(`could not lock the best clock (${best.clockMHz} MHz): ${locked.error.message}`, runs);
    }
    const gpuWide = journal.gpuWide.map((s) =>
      s.change.kind === 'clockLock' && s.state !== 'undone' ? entry(best.clockMHz, 'done') : s,
    );
    const sessions = journal.sessions.map((s) =>
      s.name === session.name ? { ...s, plan: { ...s.plan, clockLockMHz: best.clockMHz } } : s,
    );
    const saved = await save({ ...journal, gpuWide, sessions });
    if (saved) return fail(`the calibrated clock could not be recorded: ${saved.message}`, runs);
    return { ok: true, runs, best, withinTolerance: Math.abs(best.fp32 / target - 1) <= TOLERANCE };
  } finally {
    lock.release();
  }
}
