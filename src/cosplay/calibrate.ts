// Calibration: when the measured FP32 is off the target's, bisect the graphics clock lock (a bounded
// number of FP32-only bench runs), keep the clock that comes closest, and record it in the session's
// labels. Docker cannot change a container's labels, so the container is made again from its own
// settings with the new ones (files outside mounted folders do not survive: the user is told first).
import type { GpuDevError } from '../core/errors';
import { DockerFailure, type DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import { parseBenchOutput } from './benchReport';
import { TOLERANCE } from './fidelity';
import { runHostCommand } from './hostCommands';
import { SHIM_DIR } from './hostProfile';
import { LABEL, sessionLabels, type RestoreStep, type Session } from './session';
import { listSessions, sameGpu } from './sessions';

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
export async function bisectClock(target: number, lowMHz: number, highMHz: number, measure: (clockMHz: number) => Promise<number | GpuDevError>, maxRuns = MAX_CALIBRATION_RUNS): Promise<{ runs: CalibrationRun[]; best?: CalibrationRun; error?: GpuDevError }> {
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
    else if (runs.length === 1) break; // already too slow at the top clock: nothing to gain
    else low = clockMHz;
  }
  return { runs, best: best() };
}

export type CalibrationOutcome =
  | { readonly ok: true; readonly session: Session; readonly runs: readonly CalibrationRun[]; readonly best: CalibrationRun; readonly withinTolerance: boolean }
  | { readonly ok: false; readonly error: GpuDevError; readonly runs: readonly CalibrationRun[] };

export interface CalibrationRequest {
  readonly session: Session;
  readonly sudo: boolean;
  /** The shim, to copy into the container made again (see `shimArchive`). */
  readonly shimTar: Buffer;
  readonly onRun?: (run: CalibrationRun, index: number) => void;
}

/** Calibrates a running session's clock lock; on failure the session's own clock is put back. */
export async function calibrateSession(request: CalibrationRequest, runner: Runner, docker: DockerEngine): Promise<CalibrationOutcome> {
  const { session, sudo } = request;
  const fail = (message: string, runs: readonly CalibrationRun[] = [], hint?: string): CalibrationOutcome => ({ ok: false, error: { message, hint }, runs });
  const target = session.plan.expected.find((e) => e.metric === 'fp32')?.target;
  const boost = session.plan.boostClockMHz;
  if (!target || !boost) return fail(`${session.name} does not record its target FP32 or the host's boost clock`, [], 'apply the cosplay again to calibrate it');
  const { sessions } = await listSessions(docker);
  const other = sessions.find((s) => s.running && s.name !== session.name && sameGpu(s, session.gpuIndex, session.plan.gpuUuid));
  if (other) return fail(`session "${other.name}" shares this GPU: its clocks would change too`, [], 'stop it first, or calibrate that one');
  const gpu = String(session.gpuIndex);
  const lock = (mhz: number | null) => runHostCommand(runner, { argv: mhz === null ? ['nvidia-smi', '-i', gpu, '-rgc'] : ['nvidia-smi', '-i', gpu, '-lgc', `${mhz},${mhz}`] }, sudo);
  const measure = async (clockMHz: number): Promise<number | GpuDevError> => {
    const locked = await lock(clockMHz);
    if (!locked.ok) return locked.error;
    try {
      const result = await docker.exec(session.containerId, ['python3', `${SHIM_DIR}/bench.py`, '--json', '--only', 'fp32', '--samples', '3']);
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
  const putBack = async () => void (await lock(session.plan.clockLockMHz));
  if (error || !best) {
    await putBack();
    return fail(`calibration stopped: ${error?.message ?? 'nothing was measured'}`, runs);
  }
  const locked = await lock(best.clockMHz);
  if (!locked.ok) {
    await putBack();
    return fail(`could not lock the best clock (${best.clockMHz} MHz): ${locked.error.message}`, runs);
  }
  try {
    const calibrated = await relabel(session, best.clockMHz, request.shimTar, docker);
    return { ok: true, session: calibrated, runs, best, withinTolerance: Math.abs(best.fp32 / target - 1) <= TOLERANCE };
  } catch (failure) {
    await putBack();
    return fail(`the container could not be made again: ${failure instanceof DockerFailure ? failure.failure.message : String(failure)}`, runs);
  }
}

/** The session's container made again with the calibrated clock in its labels and environment. */
async function relabel(session: Session, clockMHz: number, shimTar: Buffer, docker: DockerEngine): Promise<Session> {
  const spec = await docker.inspect(session.containerId);
  const resetClocks: RestoreStep = { description: 'reset graphics clocks', gpuWide: true, commands: [{ argv: ['nvidia-smi', '-i', String(session.gpuIndex), '-rgc'] }] };
  const hasReset = session.restore.some((step) => step.commands.some((c) => c.argv.includes('-rgc')));
  const calibrated: Session = {
    ...session,
    plan: { ...session.plan, clockLockMHz: clockMHz },
    restore: hasReset ? session.restore : [resetClocks, ...session.restore],
  };
  const labels = { ...spec.labels, ...sessionLabels(calibrated) };
  const id = await docker.create({ ...spec, name: `${spec.name}-calibrated`, labels, env: { ...spec.env, GPUDEV_EXPECT_CLOCK_MHZ: String(clockMHz) } });
  try {
    await docker.putArchive(id, '/', shimTar);
    await docker.start(id);
  } catch (error) {
    await docker.remove(id);
    throw error;
  }
  await docker.remove(session.containerId);
  await docker.rename(id, spec.name);
  return { ...calibrated, containerId: id, createdMs: Date.now(), name: labels[LABEL.session]! };
}
