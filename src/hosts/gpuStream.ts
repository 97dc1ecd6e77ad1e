import type { GpuSample } from './gpu';
import type { GpusResult } from './gpuProbe';
import { MONITOR_FIELDS, monitorQueryArgs, parseQueryCsv, toGpuSamples } from './nvidiaSmi/queryCsv';
import type { OutputStream, RunResult, Runner } from './runner';

/**
 * Cuts the output of `nvidia-smi --query-gpu=index,… -lms N` into ticks: one row per GPU, ascending
 * index. A tick is complete when the expected number of rows came; the count is learned again when a
 * tick turns out shorter (the index starts over early) or longer (rows keep coming after a tick).
 */
export class FrameAssembler {
  private pendingText = '';
  private rows: string[] = [];
  private lastIndex = -1;
  private previous: { rows: string[]; lastIndex: number } | undefined;

  constructor(
    private expected: number,
    private readonly onFrame: (csv: string) => void,
  ) {}

  push(text: string): void {
    const lines = (this.pendingText + text).split(/\r?\n/);
    this.pendingText = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) this.row(line);
  }

  private row(line: string): void {
    const parsed = Number.parseInt(line.split(',')[0] ?? '', 10);
    const index = Number.isNaN(parsed) ? this.lastIndex + 1 : parsed;
    if (this.rows.length === 0 && this.previous && index > this.previous.lastIndex) {
      // The last tick had more GPUs than expected: it goes on, and is sent again whole.
      this.rows = [...this.previous.rows];
      this.lastIndex = this.previous.lastIndex;
      this.expected = this.rows.length + 1;
    } else if (this.rows.length > 0 && index <= this.lastIndex) {
      this.expected = this.rows.length; // a new tick began early: there are fewer GPUs now
      this.flush();
    }
    this.rows.push(line);
    this.lastIndex = index;
    if (this.rows.length >= this.expected) this.flush();
  }

  private flush(): void {
    this.previous = { rows: this.rows, lastIndex: this.lastIndex };
    this.rows = [];
    this.lastIndex = -1;
    this.onFrame(this.previous.rows.join('\n'));
  }
}

/** Compute processes change far less often than the samples: a streamed sample keeps those last seen on its GPU. */
export function withProcessesFrom(gpus: readonly GpuSample[], previous: readonly GpuSample[] | undefined): GpuSample[] {
  if (!previous?.some((gpu) => gpu.processes)) return [...gpus];
  return gpus.map((gpu) => {
    const before = previous.find((p) => (p.busId ?? p.uuid ?? p.index) === (gpu.busId ?? gpu.uuid ?? gpu.index));
    return before?.processes ? { ...gpu, processes: before.processes } : gpu;
  });
}

export interface GpuStreamHandlers {
  onSample(result: GpusResult): void;
  /** The stream stopped on its own (after `stop()` it is not called): how it ended, and how many samples it gave. */
  onEnd(end: RunResult, samples: number): void;
}

/**
 * One long-lived `nvidia-smi --query-gpu … -lms <interval>` on the host, a sample per tick. Undefined
 * when the runner cannot stream (the caller polls instead).
 */
export function streamGpus(
  runner: Runner,
  intervalMs: number,
  expectedGpus: number,
  handlers: GpuStreamHandlers,
  now: () => number = Date.now,
): OutputStream | undefined {
  if (!runner.stream) return undefined;
  let samples = 0;
  let stopped = false;
  const frames = new FrameAssembler(Math.max(1, expectedGpus), (csv) => {
    const query = parseQueryCsv(csv, MONITOR_FIELDS);
    samples++;
    handlers.onSample({
      kind: 'gpus',
      host: runner.label,
      gpus: toGpuSamples(query),
      problems: query.problems,
      at: now(),
    });
  });
  const stream = runner.stream(
    ['nvidia-smi', ...monitorQueryArgs(), '-lms', String(Math.max(1, Math.round(intervalMs)))],
    {
      onData: (text) => {
        if (!stopped) frames.push(text);
      },
      onEnd: (end) => {
        if (!stopped) handlers.onEnd(end, samples);
      },
    },
  );
  return {
    stop: () => {
      stopped = true;
      stream.stop();
    },
  };
}
