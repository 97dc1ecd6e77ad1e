import type { Logger } from '../core/errors';
import type { ProbeResult } from '../hosts/gpuProbe';

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Sampling slows by this factor while the window is not focused. */
export const UNFOCUSED_SLOWDOWN = 4;

/**
 * Samples one host's GPUs on a timer while someone is watching (a visible view or the gauge),
 * one probe at a time, slower when the window is not focused. A host without a driver, or whose
 * answer says retrying cannot help (a refused host key), is not polled again until `refresh()`.
 */
export class GpuMonitor {
  private latest: ProbeResult | undefined;
  private good: ProbeResult | undefined;
  private readonly listeners = new Set<(result: ProbeResult) => void>();
  private inFlight: Promise<ProbeResult> | undefined;
  private timer: unknown;
  private watched = false;
  private focused = true;
  private disposed = false;

  constructor(
    private readonly probe: () => Promise<ProbeResult>,
    private intervalMs: number,
    private readonly log: Logger,
    private readonly timers: Timers = realTimers,
  ) {}

  get snapshot(): ProbeResult | undefined {
    return this.latest;
  }

  /** The last sample that listed GPUs, kept while a host is unreachable. */
  get lastGood(): ProbeResult | undefined {
    return this.good;
  }

  get interval(): number {
    return this.intervalMs;
  }

  onDidChange(listener: (result: ProbeResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setWatched(watched: boolean): void {
    if (watched === this.watched) return;
    this.watched = watched;
    this.log.debug(`monitor ${watched ? 'resumed' : 'paused'}`);
    this.reschedule(0);
  }

  setFocused(focused: boolean): void {
    if (focused === this.focused) return;
    this.focused = focused;
    this.reschedule(focused ? 0 : this.delay());
  }

  setIntervalMs(ms: number): void {
    if (ms === this.intervalMs) return;
    this.intervalMs = ms;
    this.reschedule(this.delay());
  }

  /** Probes now (joining a probe already under way) and restarts the timer. */
  refresh(): Promise<ProbeResult> {
    this.inFlight ??= this.probe()
      .then((result) => this.publish(result))
      .finally(() => {
        this.inFlight = undefined;
        this.reschedule(this.delay());
      });
    return this.inFlight;
  }

  /** A sample started from now on: waits out a probe under way (it may have been asked for less), then probes. */
  async refreshAfterCurrent(): Promise<ProbeResult> {
    await this.inFlight;
    return this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    this.timers.clearTimeout(this.timer);
    this.listeners.clear();
  }

  private delay(): number {
    return this.focused ? this.intervalMs : this.intervalMs * UNFOCUSED_SLOWDOWN;
  }

  private reschedule(ms: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || !this.watched || this.inFlight || this.latest?.kind === 'no-driver') return;
    if (this.latest?.kind === 'error' && this.latest.retry === false) return;
    this.timer = this.timers.setTimeout(() => void this.refresh(), ms);
  }

  private publish(result: ProbeResult): ProbeResult {
    const changedKind = result.kind !== this.latest?.kind;
    this.latest = result;
    if (result.kind === 'gpus') this.good = result;
    if (changedKind) this.log.info(`${result.host}: ${result.kind === 'gpus' ? `${result.gpus.length} GPU(s)` : result.error.message}`);
    if (result.kind === 'gpus' && result.problems.length) this.log.warn(`${result.host}: ${result.problems.join('; ')}`);
    for (const listener of this.listeners) listener(result);
    return result;
  }
}
