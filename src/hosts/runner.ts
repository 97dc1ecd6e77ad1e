import { execFile, spawn } from 'node:child_process';
import type { GpuDevError } from '../core/errors';

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Written to the program's standard input, which is then closed. */
  readonly stdin?: string;
}

export interface RunResult {
  /** Exit status, or null when the process was killed or never started. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The program itself does not exist on this host. */
  readonly notFound?: boolean;
  readonly timedOut?: boolean;
  /** The host could not be reached or trusted at all (an SSH host key refused, no route…). */
  readonly failure?: GpuDevError;
  /** Set with `failure` when trying again cannot help until the user acts (a refused host key). */
  readonly retryable?: false;
  /** Set with `failure` when the host's key is simply unknown: the user may choose to trust it. */
  readonly untrustedHostKey?: { readonly description: string; readonly knownHostsLine: string };
}

/** Where a long-running program's output goes: its stdout as it comes, then how it ended (stdout empty). */
export interface StreamHandlers {
  onData(text: string): void;
  /** Its stderr as it comes, when given (it is also collected into the end's `stderr`). */
  onStderr?(text: string): void;
  onEnd(end: RunResult): void;
}

/** A program that keeps running until stopped (`nvidia-smi -lms`). */
export interface OutputStream {
  stop(): void;
}

/**
 * A program whose standard input stays open: it sees the end of its input on `close()`, or when this
 * process or its connection dies (so a lock it holds is never left behind by a crash).
 */
export interface HeldProgram {
  write(text: string | Uint8Array): void;
  close(): void;
}

/** Runs one program with its arguments on a host. Never goes through a shell. */
export interface Runner {
  /** What the user calls this host ("This machine", an SSH alias). */
  readonly label: string;
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a program whose output keeps coming; `onEnd` is called once, also after `stop()`. */
  stream?(argv: readonly string[], handlers: StreamHandlers): OutputStream;
  /** Starts a program fed by `write` until `close()`; `onEnd` is called once. */
  hold?(argv: readonly string[], handlers: StreamHandlers): HeldProgram;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** How the GPUs view names the machine VS Code's extension host runs on. */
export const LOCAL_HOST = 'This machine';

export class LocalRunner implements Runner {
  readonly label = LOCAL_HOST;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const [program, ...args] = argv;
    if (!program) return Promise.reject(new Error('LocalRunner.run needs a program'));
    return new Promise((resolve) => {
      const child = execFile(
        program,
        args,
        {
          env: this.env,
          timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          maxBuffer: MAX_OUTPUT_BYTES,
          encoding: 'utf8',
          windowsHide: true,
        },
        (error, stdout, stderr) => {
          if (!error) return resolve({ exitCode: 0, stdout, stderr });
          const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          if (failure.code === 'ENOENT') return resolve({ exitCode: null, stdout: '', stderr: '', notFound: true });
          if (failure.killed) return resolve({ exitCode: null, stdout, stderr, timedOut: true });
          const exitCode = typeof failure.code === 'number' ? failure.code : null;
          resolve({ exitCode, stdout, stderr });
        },
      );
      child.stdin?.on('error', () => undefined).end(options.stdin);
    });
  }

  stream(argv: readonly string[], handlers: StreamHandlers): OutputStream {
    const child = this.spawnStreaming(argv, handlers, 'ignore');
    return { stop: () => void child.kill() };
  }

  hold(argv: readonly string[], handlers: StreamHandlers): HeldProgram {
    const child = this.spawnStreaming(argv, handlers, 'pipe');
    child.stdin!.on('error', () => undefined);
    return { write: (text) => void child.stdin!.write(text), close: () => void child.stdin!.end() };
  }

  /** A program whose output goes to `handlers` as it comes; `onEnd` once, however it ends. */
  private spawnStreaming(argv: readonly string[], handlers: StreamHandlers, stdin: 'ignore' | 'pipe') {
    const [program, ...args] = argv;
    if (!program) throw new Error('LocalRunner needs a program');
    const child = spawn(program, args, { env: this.env, stdio: [stdin, 'pipe', 'pipe'], windowsHide: true });
    let stderr = '';
    let ended = false;
    const end = (result: RunResult) => {
      if (ended) return;
      ended = true;
      handlers.onEnd(result);
    };
    child.stdout!.setEncoding('utf8').on('data', (text: string) => handlers.onData(text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      handlers.onStderr?.(text);
      if (stderr.length < 64 * 1024) stderr += text;
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      end({ exitCode: null, stdout: '', stderr: error.message, ...(error.code === 'ENOENT' && { notFound: true }) }),
    );
    child.on('close', (code) => end({ exitCode: code, stdout: '', stderr }));
    return child;
  }
}
