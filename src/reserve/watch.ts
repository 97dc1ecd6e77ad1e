// Watching a cluster's gpudev jobs: squeue with backoff (1 s, doubling to 5 s while nothing changes),
// the final state of a job that left the queue (scontrol, then sacct), and expiry warnings.
import type { GpuDevError } from '../core/errors';
import { parseDuration } from './duration';
import type { Reservation } from './slurm/cluster';

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 5000;
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
  private delay = FIRST_DELAY_MS;
  private timer: unknown;
  private running = false;

  constructor(
    private readonly cluster: WatchedCluster,
    private readonly onChange: (ended: readonly EndedJob[]) => void,
    private readonly timers: Timers = {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.poll();
  }

  stop(): void {
    this.running = false;
    this.timers.clearTimeout(this.timer);
  }

  /** Polls at once (after a submit or cancel) and starts the backoff again. */
  refresh(): void {
    this.timers.clearTimeout(this.timer);
    this.delay = FIRST_DELAY_MS;
    void this.poll();
  }

  private async poll(): Promise<void> {
    const listed = await this.cluster.list();
    if (!this.running) return;
    if ('message' in listed) {
      const first = this.error === undefined;
      this.error = listed;
      this.delay = MAX_DELAY_MS;
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
      this.delay = changed ? FIRST_DELAY_MS : Math.min(MAX_DELAY_MS, this.delay * 2);
      this.onChange(ended);
    }
    if (this.running) this.timer = this.timers.setTimeout(() => void this.poll(), this.delay);
  }
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
