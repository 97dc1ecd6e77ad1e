// Watching a cluster's gpudev jobs politely (many sites forbid sub-minute polling): squeue every
// `gpuDev.reservations.pollSeconds` (30, at least 10); every 5 s only while a submitted or cancelled job
// settles or a pending job is expected to start within a minute; every 5 minutes while the view is hidden
// and no warning is due. Also the final state of a job that left the queue, and expiry warnings.
import type { GpuDevError } from '../core/errors';
import { parseDuration } from './duration';
import type { Reservation } from './slurm/cluster';

export const SETTLE_DELAY_MS = 5000;
export const HIDDEN_DELAY_MS = 5 * 60_000;
export const DEFAULT_POLL_SECONDS = 30;
export const MIN_POLL_SECONDS = 10;
/** How long after a submit or cancel the watch looks every 5 s (less once two polls agree). */
const SETTLE_WINDOW_MS = 60_000;
const SOON_MS = 60_000;
/** Minutes before the end at which the user is warned, once each. */
export const WARN_AT_MINUTES = [30, 15, 5] as const;

export interface WatchedCluster {
  list(): Promise<Reservation[] | GpuDevError>;
  finalState(jobId: string): Promise<string>;
  /** Cancels the losers of races that have a winner; their ids. */
  reap?(jobs: readonly Reservation[]): Promise<string[]>;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface EndedJob {
  readonly jobId: string;
  readonly name: string;
  readonly state: string;
}

/** What changes the schedule: a job's state or nodes (its time left ticks every minute regardless). */
const shape = (jobs: readonly Reservation[]) => JSON.stringify(jobs.map((j) => [j.jobId, j.state, j.nodes, j.reason]));

export class ReservationWatch {
  reservations: readonly Reservation[] = [];
  /** Set while the cluster does not answer (slurmctld restarting, the login node down); the jobs stay as last seen. */
  error: GpuDevError | undefined;
  /** When `reservations` was read. */
  sampledAt = 0;
  /** Set for as long as the last poll's delay: what the schedule decided, for tests and the log. */
  delayMs = 0;
  private timer: unknown;
  private running = false;
  private visible = true;
  private polling = false;
  private pollMs: number;
  private settleUntil = 0;
  private unchangedPolls = 0;

  constructor(
    private readonly cluster: WatchedCluster,
    private readonly onChange: (ended: readonly EndedJob[]) => void,
    private readonly timers: Timers = {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    private readonly now: () => number = Date.now,
    pollSeconds = DEFAULT_POLL_SECONDS,
  ) {
    this.pollMs = pollMs(pollSeconds);
  }

  /** The view was shown or hidden: a hidden one is polled every 5 minutes while no warning is due. */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (visible && this.running) this.reschedule(0);
  }

  setPollSeconds(seconds: number): void {
    this.pollMs = pollMs(seconds);
    if (this.running) this.reschedule(this.nextDelay());
  }

  private reschedule(delay: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.poll(), delay);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.poll();
  }

  stop(): void {
    this.running = false;
    this.timers.clearTimeout(this.timer);
  }

  /** Polls at once (after a submit or cancel), then every 5 s while the jobs settle. */
  refresh(): void {
    this.timers.clearTimeout(this.timer);
    this.settleUntil = this.now() + SETTLE_WINDOW_MS;
    this.unchangedPolls = 0;
    void this.poll();
  }

  /** The delay before the next poll, by what is about to change. */
  nextDelay(): number {
    const now = this.now();
    if (this.error) return this.pollMs;
    if (now < this.settleUntil) return SETTLE_DELAY_MS;
    const startingSoon = this.reservations.some(
      (j) => j.state === 'PENDING' && typeof j.startsAt === 'number' && Math.abs(j.startsAt - now) <= SOON_MS,
    );
    if (startingSoon) return SETTLE_DELAY_MS;
    const elapsedMinutes = (now - this.sampledAt) / 60_000;
    if (!this.visible && !warningWithin(this.reservations, HIDDEN_DELAY_MS / 60_000 + elapsedMinutes))
      return HIDDEN_DELAY_MS;
    return this.pollMs;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const listed = await this.cluster.list().finally(() => (this.polling = false));
    if (!this.running) return;
    if ('message' in listed) {
      const first = this.error === undefined;
      this.error = listed;
      if (first) this.onChange([]);
    } else {
      const reaped = (await this.cluster.reap?.(listed)) ?? [];
      const jobs = listed.filter((j) => !reaped.includes(j.jobId));
      const changed = shape(jobs) !== shape(this.reservations) || this.error !== undefined;
      const gone = this.reservations.filter(
        (old) => !jobs.some((j) => j.jobId === old.jobId) && !reaped.includes(old.jobId),
      );
      const ended: EndedJob[] = await Promise.all(
        gone.map(async (job) => ({
          jobId: job.jobId,
          name: job.name,
          state: await this.cluster.finalState(job.jobId),
        })),
      );
      this.reservations = jobs;
      this.sampledAt = this.now();
      this.error = undefined;
      this.unchangedPolls = changed ? 0 : this.unchangedPolls + 1;
      if (this.unchangedPolls >= 2) this.settleUntil = 0;
      this.onChange(ended);
    }
    if (this.running) {
      this.delayMs = this.nextDelay();
      this.reschedule(this.delayMs);
    }
  }
}

const pollMs = (seconds: number) =>
  Math.max(MIN_POLL_SECONDS, Number.isFinite(seconds) ? seconds : DEFAULT_POLL_SECONDS) * 1000;

/** Whether a running job crosses a warning threshold (or its end) within `minutes`. */
export function warningWithin(jobs: readonly Reservation[], minutes: number): boolean {
  return jobs.some((job) => {
    const left = job.state === 'RUNNING' ? minutesLeft(job.timeLeft) : null;
    if (left === null) return false;
    const limit = minutesLeft(job.timeLimit);
    return [...WARN_AT_MINUTES, 0].some((t) => (limit === null || limit > t) && left > t && left - t <= minutes);
  });
}

/** squeue's %L ("1-02:03:04", "25:00", "UNLIMITED") in minutes; null when there is no limit. */
export function minutesLeft(timeLeft: string): number | null {
  const minutes = parseDuration(timeLeft);
  return typeof minutes === 'number' ? minutes : null;
}

/**
 * The warnings due for running jobs: the smallest threshold each has crossed (of those shorter than its
 * time limit) and not yet been warned
 * about (`warned` remembers "jobId:minutes"; it is updated).
 */
export function dueWarnings(
  jobs: readonly Reservation[],
  warned: Set<string>,
  elapsedMinutes = 0,
): Array<{ job: Reservation; minutesLeft: number }> {
  const due: Array<{ job: Reservation; minutesLeft: number }> = [];
  for (const job of jobs) {
    const left = job.state === 'RUNNING' ? minutesLeft(job.timeLeft) : null;
    if (left === null) continue;
    const remaining = Math.max(0, left - elapsedMinutes);
    // A 30-minute reservation is not "ending in 30 minutes" the moment it starts: only thresholds inside its limit count.
    const limit = minutesLeft(job.timeLimit);
    const crossed = WARN_AT_MINUTES.filter((t) => remaining <= t && (limit === null || limit > t));
    if (!crossed.length) continue;
    const key = `${job.jobId}:${Math.min(...crossed)}`;
    if (warned.has(key)) continue;
    crossed.forEach((t) => warned.add(`${job.jobId}:${t}`));
    due.push({ job, minutesLeft: remaining });
  }
  return due;
}
