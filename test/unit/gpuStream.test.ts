import * as assert from 'node:assert/strict';
import type { GpuSample } from '../../src/hosts/gpu';
import { FrameAssembler, streamGpus, withProcessesFrom } from '../../src/hosts/gpuStream';
import type { OutputStream, RunResult, Runner, StreamHandlers } from '../../src/hosts/runner';

const row = (index: number, used = 100) =>
  `${index}, GPU-${index}, NVIDIA H100 80GB HBM3, ${used}, 81559, 0, 30, 70.00, 700.00, Disabled, 00000000:0${index}:00.0`;

function frames(expected: number, chunks: string[]): string[][] {
  const seen: string[][] = [];
  const assembler = new FrameAssembler(expected, (csv) =>
    seen.push(csv.split('\n').map((line) => line.split(',')[0]!)),
  );
  chunks.forEach((chunk) => assembler.push(chunk));
  return seen;
}

describe('FrameAssembler (nvidia-smi -lms output → one sample per tick)', () => {
  it('emits a tick as soon as its last GPU row arrives', () => {
    assert.deepEqual(frames(2, [`${row(0)}\n${row(1)}\n`, `${row(0)}\n`, `${row(1)}\n`]), [
      ['0', '1'],
      ['0', '1'],
    ]);
  });

  it('joins rows split across chunks anywhere, even inside a line', () => {
    const text = `${row(0)}\n${row(1)}\n${row(0)}\n${row(1)}\n`;
    const chunks = text.match(/.{1,7}/gs)!;
    assert.deepEqual(frames(2, chunks), [
      ['0', '1'],
      ['0', '1'],
    ]);
  });

  it('learns a smaller GPU count when the index starts over early', () => {
    // The first short tick is only known complete when the next one starts; from then on ticks are sent at once.
    assert.deepEqual(frames(3, [`${row(0)}\n${row(1)}\n`, `${row(0)}\n${row(1)}\n`, `${row(0)}\n${row(1)}\n`]), [
      ['0', '1'],
      ['0', '1'],
      ['0', '1'],
    ]);
  });

  it('learns a larger GPU count: the longer tick is sent again whole', () => {
    assert.deepEqual(frames(1, [`${row(0)}\n${row(1)}\n`, `${row(0)}\n${row(1)}\n`]), [['0'], ['0', '1'], ['0', '1']]);
  });

  it('ignores blank lines and copes with rows without an index', () => {
    assert.deepEqual(frames(2, [`\n${row(0)}\r\n\n[N/A], x\n`]), [['0', '[N/A]']]);
  });
});

describe('withProcessesFrom', () => {
  const gpu = (index: number, processes?: GpuSample['processes']): GpuSample => ({
    index,
    uuid: null,
    name: 'g',
    memoryUsedMiB: 1,
    memoryTotalMiB: 2,
    utilizationPct: 0,
    temperatureC: null,
    powerDrawW: null,
    powerLimitW: null,
    migMode: null,
    busId: `bus${index}`,
    ...(processes && { processes }),
  });

  it('keeps the processes last seen on the same GPU (by bus id)', () => {
    const before = [gpu(0, [{ pid: 1, name: 'python', usedMemoryMiB: 10 }]), gpu(1, [])];
    const merged = withProcessesFrom([gpu(1), gpu(0)], before);
    assert.deepEqual(
      merged.map((g) => g.processes?.map((p) => p.pid)),
      [[], [1]],
    );
  });

  it('adds nothing when processes were never read', () => {
    assert.equal(withProcessesFrom([gpu(0)], [gpu(0)])[0]!.processes, undefined);
  });
});

describe('streamGpus', () => {
  class StreamingRunner implements Runner {
    readonly label = 'box';
    argv: readonly string[] = [];
    handlers!: StreamHandlers;
    stopped = false;
    run(): Promise<RunResult> {
      return Promise.reject(new Error('not used'));
    }
    stream(argv: readonly string[], handlers: StreamHandlers): OutputStream {
      this.argv = argv;
      this.handlers = handlers;
      return {
        stop: () => {
          this.stopped = true;
        },
      };
    }
  }

  it('runs one nvidia-smi -lms and turns each tick into a sample', () => {
    const runner = new StreamingRunner();
    const samples: number[][] = [];
    const ends: number[] = [];
    streamGpus(
      runner,
      2000,
      2,
      { onSample: (r) => samples.push(r.gpus.map((g) => g.memoryUsedMiB!)), onEnd: (_, n) => ends.push(n) },
      () => 42,
    );
    assert.deepEqual(runner.argv.slice(-2), ['-lms', '2000']);
    assert.match(runner.argv[1]!, /^--query-gpu=index,/);
    runner.handlers.onData(`${row(0, 5)}\n${row(1, 6)}\n${row(0, 7)}\n`);
    runner.handlers.onData(`${row(1, 8)}\n`);
    runner.handlers.onEnd({ exitCode: 0, stdout: '', stderr: '' });
    assert.deepEqual(samples, [
      [5, 6],
      [7, 8],
    ]);
    assert.deepEqual(ends, [2]);
  });

  it('says nothing more once stopped', () => {
    const runner = new StreamingRunner();
    let calls = 0;
    const stream = streamGpus(runner, 1000, 1, { onSample: () => calls++, onEnd: () => calls++ })!;
    stream.stop();
    runner.handlers.onData(`${row(0)}\n`);
    runner.handlers.onEnd({ exitCode: null, stdout: '', stderr: '' });
    assert.equal(runner.stopped, true);
    assert.equal(calls, 0);
  });

  it('is undefined for a runner that cannot stream', () => {
    assert.equal(
      streamGpus({ label: 'x', run: () => Promise.resolve({ exitCode: 0, stdout: '', stderr: '' }) }, 1000, 1, {
        onSample() {},
        onEnd() {},
      }),
      undefined,
    );
  });
});
