import type { Logger } from '../core/errors';
import type { GpusResult, ProbeResult } from '../hosts/gpuProbe';
import { withProcessesFrom, type GpuStreamHandlers } from '../hosts/gpuStream';
import type { OutputStream } from '../hosts/runner';

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Sampling slows by this factor while the window is not focused. */
export const UNFOCUSED_SLOWDOWN = 4;

/** A host that keeps failing is retried at twice the delay each time, up to this. */
export const MAX_RETRY_MS = 30_000;

/**
 * While samples stream, the monitor looks every this many intervals: processes are read when wanted
 * (the stream does not carry them), and a full probe runs when the stream has gone quiet.
 */
export const STREAM_CHECK_EVERY = 5;

/** Streams that end before their first sample: after this many the host is polled for good. */
export const MAX_FAILED_STREAMS = 3;

/** Starts a stream of samples at an interval (`streamGpus` over the host's runner), or undefined when the host cannot stream. */
export type StartStream = (
  intervalMs: number,
  expectedGpus: number,
  handlers: GpuStreamHandlers,
) => OutputStream | undefined;

export interface MonitorOptions {
  readonly timers?: Timers;
  /** Without it, the host is polled. */
  readonly startStream?: StartStream;
  /** Whether someone looks at processes now (default: yes). */
  readonly wantsProcesses?: () => boolean;
}

/**
 * Samples one host's GPUs while someone is watching (a visible view, the gauge, a details panel),
 * slower when the window is not focused, backing off while the host fails. After a good probe the
 * samples stream from one long-lived query when the host can (see STREAM_CHECK_EVERY for what still
 * runs beside it); otherwise, or once the stream ends, it polls one probe at a time. A host without a
 * driver, or whose answer says retrying cannot help (a refused host key), is not sampled again until
 * `refresh()`.
 */
export class GpuMonitor {
  private latest: ProbeResult | undefined;
  private good: GpusResult | undefined;
  private readonly listeners = new Set<(result: ProbeResult) => void>();
  private inFlight: Promise<ProbeResult> | undefined;
  private timer: unknown;
  private watched = false;
  private focused = true;
  private disposed = false;
  private paused = 0;
  private stream: { handle: OutputStream | undefined; intervalMs: number } | undefined;
  private failedStreams = 0;
  private failuresInARow = 0;
  /** After a stream ends, a probe says what became of the host before another stream starts. */
  private probeFirst = false;

  private readonly timers: Timers;
  private readonly startStream: StartStream | undefined;
  private readonly wantsProcesses: () => boolean;

  /** `probe(fresh)`: with a sample just streamed, only what the stream lacks (processes) needs reading. */
  constructor(
    private readonly probe: (fresh?: GpusResult) => Promise<ProbeResult>,
    private intervalMs: number,
    private readonly log: Logger,
    options: MonitorOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.startStream = options.startStream;
    this.wantsProcesses = options.wantsProcesses ?? (() => true);
  }

  /** Whether samples arrive from a stream right now (rather than by polling). */
  get streaming(): boolean {
    return this.stream?.handle !== undefined;
  }

  get snapshot(): ProbeResult | undefined {
    return this.latest;
  }

  /** The last sample that listed GPUs, kept while a host is unreachable. */
  get lastGood(): GpusResult | undefined {
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

  /**
   * Stops sampling (the stream too) until every returned resume is called: a persistent nvidia-smi
   * client keeps a MIG mode change pending.
   */
  pause(): () => void {
    this.paused++;
    this.reschedule(0);
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      this.paused--;
      this.reschedule(0);
    };
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
  refresh(fresh?: GpusResult): Promise<ProbeResult> {
    this.inFlight ??= this.probe(fresh)
      .then((result) => {
        this.probeFirst = false;
        return this.publish(result);
      })
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
    this.stopStream();
    this.listeners.clear();
  }

  private delay(): number {
    const base = this.focused ? this.intervalMs : this.intervalMs * UNFOCUSED_SLOWDOWN;
    if (this.failuresInARow === 0) return base;
    return Math.max(base, Math.min(base * 2 ** Math.min(this.failuresInARow - 1, 16), MAX_RETRY_MS));
  }

  private reschedule(ms: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const stopped =
      this.disposed ||
      !this.watched ||
      this.paused > 0 ||
      this.latest?.kind === 'no-driver' ||
      (this.latest?.kind === 'error' && this.latest.retry === false);
    if (stopped || this.latest?.kind !== 'gpus' || this.failedStreams >= MAX_FAILED_STREAMS) this.stopStream();
    if (stopped || this.inFlight) return;
    if (this.latest?.kind === 'gpus' && this.ensureStream()) {
      this.timer = this.timers.setTimeout(() => this.checkStream(), this.delay() * STREAM_CHECK_EVERY);
      return;
    }
    this.timer = this.timers.setTimeout(() => void this.refresh(), ms);
  }

  private checkStream(): void {
    const quiet = Date.now() - (this.latest?.at ?? 0) > 2 * this.delay();
    if (quiet) void this.refresh();
    else if (this.wantsProcesses() && this.latest?.kind === 'gpus') void this.refresh(this.latest);
    else this.reschedule(0);
  }

  /** Keeps one stream going at the current delay; false when the host cannot stream. */
  private ensureStream(): boolean {
    if (!this.startStream || this.failedStreams >= MAX_FAILED_STREAMS || this.probeFirst) return false;
    const intervalMs = this.delay();
    if (this.stream?.intervalMs === intervalMs) return this.stream.handle !== undefined;
    this.stopStream();
    const current = { handle: undefined as OutputStream | undefined, intervalMs };
    this.stream = current;
    const expected = this.good?.gpus.length ?? 1;
    current.handle = this.startStream(intervalMs, expected, {
      onSample: (result) => {
        if (this.stream !== current) return;
        this.failedStreams = 0;
        this.publish({ ...result, gpus: withProcessesFrom(result.gpus, this.good?.gpus) });
      },
      onEnd: (end, samples) => {
        if (this.stream !== current) return;
        this.stream = undefined;
        if (samples === 0) this.failedStreams++;
        this.probeFirst = true;
        const said = end.failure?.message ?? (end.stderr.trim().split('\n')[0] || `exit code ${end.exitCode}`);
        this.log.debug(
          `${this.latest?.host ?? 'host'}: sample stream ended after ${samples} sample(s): ${said}${this.failedStreams >= MAX_FAILED_STREAMS ? '; polling from now on' : ''}`,
        );
        this.reschedule(0);
      },
    });
    return current.handle !== undefined;
  }

  private stopStream(): void {
    const handle = this.stream?.handle;
    this.stream = undefined;
    handle?.stop();
  }

  private publish(result: ProbeResult): ProbeResult {
    const changedKind = result.kind !== this.latest?.kind;
    this.latest = result;
    this.failuresInARow = result.kind === 'error' ? this.failuresInARow + 1 : 0;
    if (result.kind === 'gpus') this.good = result;
    if (changedKind)
      this.log.info(
        `${result.host}: ${result.kind === 'gpus' ? `${result.gpus.length} GPU(s)` : result.error.message}`,
      );
    if (result.kind === 'gpus' && result.problems.length)
      this.log.warn(`${result.host}: ${result.problems.join('; ')}`);
    for (const listener of this.listeners) listener(result);
    return result;
  }
}
