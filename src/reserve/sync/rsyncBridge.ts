// rsync over the SSH connection we already hold: the local rsync's --rsh is a tiny Node program (the
// bridge) that hands rsync's remote argv and byte stream to this process over a private unix socket;
// this process runs that argv as one exec on the login node's connection and pipes the bytes both ways.
// No second SSH login (no second password or MFA prompt, the same pinned host key, ProxyJump as set up).
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
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

/** What rsync execs as its remote shell: `<node> <bridge.js> <socket> <host> <remote argv…>`. */
export const BRIDGE_SOURCE = `'use strict';
const net = require('net');
const [socketPath, , ...argv] = process.argv.slice(2);
const socket = net.connect({ path: socketPath, allowHalfOpen: true }, () => {
  socket.write(JSON.stringify(argv) + '\\n');
  process.stdin.pipe(socket);
});
socket.pipe(process.stdout);
socket.on('error', (error) => { process.stderr.write('gpudev rsync bridge: ' + error.message + '\\n'); process.exit(12); });
// The remote program ended: rsync waits for this process before it closes our stdin, so exit now.
socket.on('end', () => process.stdout.end(() => process.exit(0)));
`;

/** A word of rsync's -e option: rsync splits it at spaces, honouring single quotes. */
const rshWord = (word: string) => (/^[\w./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, '')}'`);

export interface Bridge {
  /** rsync's `--rsh` value. */
  readonly rsh: string;
  /** Environment for the rsync process (the bridge runs on VS Code's own Node when it is Electron). */
  readonly env: NodeJS.ProcessEnv;
  /** Bytes the remote program was sent (rsync's side of the protocol). */
  bytesSent(): number;
  /** The remote program's exit code and stderr, once it ended (undefined when it never started). */
  ended(): Promise<{ exitCode: number | null; stderr: string } | undefined>;
  close(): Promise<void>;
}

/**
 * Listens for the one connection of one rsync run. `remoteArgv(argv)` turns rsync's remote command into
 * what runs there (or refuses it with undefined); `open` runs it on the connection.
 */
export async function openBridge(
  open: OpenRawExec,
  remoteArgv: (argv: readonly string[]) => readonly string[] | undefined,
): Promise<Bridge> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gpudev-rsync-'));
  await fs.chmod(dir, 0o700);
  const script = path.join(dir, 'bridge.js');
  await fs.writeFile(script, BRIDGE_SOURCE, { mode: 0o600 });
  const socketPath = path.join(dir, 's');
  let sent = 0;
  let finished: Promise<{ exitCode: number | null; stderr: string } | undefined> = Promise.resolve(undefined);
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    server.close();
    finished = serve(socket);
  });
  const serve = (socket: net.Socket) =>
    new Promise<{ exitCode: number | null; stderr: string } | undefined>((resolve) => {
      let header = Buffer.alloc(0);
      const onHeader = (chunk: Buffer) => {
        header = Buffer.concat([header, chunk]);
        const newline = header.indexOf(10);
        if (newline < 0) return;
        socket.off('data', onHeader);
        socket.pause();
        const rest = header.subarray(newline + 1);
        let argv: unknown;
        try {
          argv = JSON.parse(header.subarray(0, newline).toString('utf8'));
        } catch {
          argv = undefined;
        }
        const run =
          Array.isArray(argv) && argv.every((word) => typeof word === 'string') ? remoteArgv(argv) : undefined;
        if (!run) {
          socket.destroy();
          return resolve({ exitCode: null, stderr: `refused the remote command ${JSON.stringify(argv)}` });
        }
        void open(run).then((exec) => {
          if ('message' in exec) {
            socket.destroy();
            return resolve({ exitCode: null, stderr: exec.message });
          }
          let stderr = '';
          exec.stderr.on('data', (data: Buffer) => {
            if (stderr.length < 16_384) stderr += data.toString('utf8');
          });
          exec.stdin.on('error', () => undefined);
          socket.on('error', () => undefined);
          const toRemote = (data: Buffer) => {
            sent += data.length;
            exec.stdin.write(data);
          };
          if (rest.length) toRemote(rest);
          socket.on('data', toRemote);
          socket.on('end', () => exec.stdin.end());
          socket.resume();
          exec.stdout.pipe(socket);
          void exec.exit.then((exitCode) => {
            socket.end();
            resolve({ exitCode, stderr });
          });
        });
      };
      socket.on('data', onHeader);
    });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    rsh: [process.execPath, script, socketPath].map(rshWord).join(' '),
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    bytesSent: () => sent,
    ended: () => finished,
    close: async () => {
      server.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
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
