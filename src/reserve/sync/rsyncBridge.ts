// rsync over the SSH connection we already hold. The local rsync's remote shell (--rsh) is a line of sh
// that hands rsync's remote argv and byte stream to this process over a socket rsync inherits as fd 3;
// this process runs that argv as one exec on the login node's connection and pipes the bytes both ways.
// No second SSH login (no second password or MFA prompt, the same pinned host key, ProxyJump as set up).
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { GpuDevError } from '../../core/errors';

/** A remote program's raw byte streams and its exit code. */
export interface RawExec {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exit: Promise<number | null>;
}

export type OpenRawExec = (argv: readonly string[]) => Promise<RawExec | GpuDevError>;

/**
 * rsync's remote shell: its argv (`<host> <remote command…>`) NUL-separated after their count, then
 * rsync's stdin to fd 3 in the background (through fd 4: sh gives a background command /dev/null as its
 * stdin) and fd 3 to rsync in the foreground, which ends once the remote program has (rsync waits for
 * this shell before it closes the shell's stdin).
 */
export const RSH = `sh -c 'printf "%s\\0" "$#" "$@" >&3; exec 4<&0; cat <&4 >&3 4<&- & exec cat <&3 4<&-' gpudev-rsh`;

/** The count and words `RSH` sends first, once they are all in; the bytes after them. */
export function parseHeader(buffer: Buffer): { argv: string[]; rest: Buffer } | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let end = buffer.indexOf(0, start); end >= 0; end = buffer.indexOf(0, start)) {
    fields.push(buffer.subarray(start, end).toString('utf8'));
    start = end + 1;
    const count = Number(fields[0]);
    if (fields.length === count + 1) return { argv: fields.slice(1), rest: buffer.subarray(start) };
  }
  return undefined;
}

export interface RsyncRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The remote program's exit code and stderr (undefined when it never started). */
  readonly remote?: { readonly exitCode: number | null; readonly stderr: string };
  /** Bytes the remote program was sent. */
  readonly bytesSent: number;
}

/**
 * Runs the local `program args…` (which names `RSH` as its --rsh); the remote command it asks for goes
 * through `remoteArgv` (undefined refuses it) and runs by `open`.
 */
export function runRsyncOver(
  open: OpenRawExec,
  program: string,
  args: readonly string[],
  remoteArgv: (argv: readonly string[]) => readonly string[] | undefined,
  /** rsync's stdin once known (its --files-from=-); undefined stops it. */
  stdin: Promise<Buffer | undefined>,
  timeoutMs: number,
): Promise<RsyncRun> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined);
    void stdin.then((input) => (input ? child.stdin.end(input) : child.kill()));
    const socket = child.stdio[3] as Socket;
    let stdout = '';
    let stderr = '';
    let sent = 0;
    let remote: Promise<RsyncRun['remote']> = Promise.resolve(undefined);
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    socket.on('error', () => undefined);
    let header = Buffer.alloc(0);
    const onHeader = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const parsed = parseHeader(header);
      if (!parsed) return;
      socket.off('data', onHeader);
      socket.pause();
      const run = remoteArgv(parsed.argv.slice(1));
      if (!run) {
        socket.destroy();
        remote = Promise.resolve({ exitCode: null, stderr: `refused the remote command ${parsed.argv.join(' ')}` });
        return;
      }
      remote = open(run).then((exec) => {
        if ('message' in exec) {
          socket.destroy();
          return { exitCode: null, stderr: exec.message };
        }
        let remoteStderr = '';
        exec.stderr.on('data', (data: Buffer) => {
          if (remoteStderr.length < 16_384) remoteStderr += data.toString('utf8');
        });
        exec.stdin.on('error', () => undefined);
        const toRemote = (data: Buffer) => {
          sent += data.length;
          if (exec.stdin.write(data)) return;
          socket.pause();
          exec.stdin.once('drain', () => socket.resume());
        };
        if (parsed.rest.length) toRemote(parsed.rest);
        socket.on('data', toRemote);
        // rsync (or its shell) went away: the remote program sees the end of its input.
        socket.on('close', () => exec.stdin.end());
        socket.resume();
        exec.stdout.on('data', (data: Buffer) => socket.write(data));
        return exec.exit.then((exitCode) => {
          exec.stdin.end();
          // The remote program ended: the shell's foreground cat sees the end, rsync finishes.
          socket.end();
          return { exitCode, stderr: remoteStderr };
        });
      });
    };
    socket.on('data', onHeader);
    const timer = setTimeout(() => child.kill(), timeoutMs);
    const finish = (exitCode: number | null) => {
      clearTimeout(timer);
      // A remote program that outlives rsync by 10 s is reported as not ended.
      const late = new Promise<undefined>((done) => setTimeout(() => done(undefined), 10_000).unref());
      void Promise.race([remote, late]).then((ended) =>
        resolve({ exitCode, stdout, stderr, ...(ended && { remote: ended }), bytesSent: sent }),
      );
    };
    child.on('error', (error) => {
      stderr += error.message;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

/** This machine as the "remote" (a CLI on the login node itself: `--login local`). */
export const localRawExec: OpenRawExec = (argv) => {
  const [program, ...args] = argv;
  if (!program) return Promise.resolve({ message: 'no program' });
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('close', (code) => resolve(code));
  });
  return Promise.resolve({ stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exit });
};
