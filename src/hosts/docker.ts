import { PassThrough, type Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { GpuDevError } from '../core/errors';
import { dockerOptions } from './dockerConnection';
import { DockerFailure, dockerFailure, pullFailure } from './dockerFailures';

export { DockerFailure, dockerFailure } from './dockerFailures';

/** What a cosplay container is made of. `gpu` is the device id for the NVIDIA DeviceRequest; null asks for none. */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  /** Replaces the image's own entrypoint. */
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly gpu: string | null;
  readonly binds: readonly string[];
  /** Folders hidden under an empty read-only tmpfs (the host journal, when a mounted folder holds it). */
  readonly masked?: readonly string[];
  readonly workingDir?: string;
  readonly shmSizeBytes: number;
  readonly ipcHost: boolean;
}

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Docker's state: running, exited, created, dead… */
  readonly state: string;
  readonly createdMs: number;
}

export interface ExecResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A program running in a container with a terminal: its bytes both ways, its size, how it ended. */
export interface ExecTerminal {
  readonly stream: Duplex;
  resize(columns: number, rows: number): Promise<void>;
  exitCode(): Promise<number | null>;
}

/** The Docker Engine of one host, as the cosplay code uses it. */
export interface DockerEngine {
  readonly label: string;
  ping(): Promise<void>;
  /** The image's environment (its PATH, …), or undefined when the host does not have it. */
  imageEnv(image: string): Promise<string[] | undefined>;
  /** Why the engine cannot give containers an NVIDIA GPU (no runtime, no CDI), in a sentence; undefined when it can. */
  missingNvidiaRuntime(): Promise<GpuDevError | undefined>;
  /** Pulls with progress; an abort stops the download. */
  pull(image: string, onProgress: (status: string) => void, signal?: AbortSignal): Promise<void>;
  create(spec: ContainerSpec): Promise<string>;
  putArchive(id: string, directory: string, tar: Buffer): Promise<void>;
  start(id: string): Promise<void>;
  /** Fails (explained, with its last output) when the container exits within a moment of starting. */
  waitRunning(id: string): Promise<void>;
  /** Stops a container, leaving it in place; one already stopped or gone is not an error. */
  stop(id: string): Promise<void>;
  /** Containers (running or not) carrying the label `labelKey`. */
  list(labelKey: string): Promise<ContainerInfo[]>;
  exec(id: string, argv: readonly string[], env?: Readonly<Record<string, string>>): Promise<ExecResult>;
  execTerminal(id: string, argv: readonly string[], columns: number, rows: number): Promise<ExecTerminal>;
  /** Stops (if running) and removes; a container already gone is not an error. */
  remove(id: string): Promise<void>;
  /** Starts `true` in a throwaway container given the GPU: fails (explained) without the NVIDIA runtime. */
  checkGpuAccess(image: string, gpu: string): Promise<void>;
}

/** Where the engine is: a unix socket on this machine, or one on an SSH host reached through its connection. */
export type DockerTarget =
  | { readonly kind: 'local'; readonly label: string; readonly socketPath: string }
  | {
      readonly kind: 'ssh';
      readonly label: string;
      readonly socketPath: string;
      readonly connect: (socketPath: string) => Promise<Duplex>;
    };

/** The engine of an SSH host, reached through its socket over the host's one SSH connection. */
export function sshDockerTarget(
  runner: { label: string; forwardToSocket(path: string): Promise<Duplex | { failure?: GpuDevError }> },
  socketPath = '/var/run/docker.sock',
): DockerTarget {
  return {
    kind: 'ssh',
    label: runner.label,
    socketPath,
    connect: async (path) => {
      const stream = await runner.forwardToSocket(path);
      if ('pipe' in stream) return stream;
      throw new DockerFailure({
        message: `Docker on ${runner.label} cannot be reached at ${path} over SSH (${stream.failure?.message ?? 'refused'})`,
        hint: 'start Docker there (or set its socket in gpuDev.hosts "dockerSocket"); its sshd must allow AllowStreamLocalForwarding',
      });
    },
  };
}

/** The local socket: DOCKER_HOST when it names a unix socket, else Docker's default. */
export function localDockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

const demuxed = async (
  modem: Dockerode['modem'],
  stream: NodeJS.ReadableStream,
): Promise<{ stdout: string; stderr: string }> => {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  out.on('data', (b: Buffer) => chunks.stdout.push(b));
  err.on('data', (b: Buffer) => chunks.stderr.push(b));
  modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  return {
    stdout: Buffer.concat(chunks.stdout).toString('utf8'),
    stderr: Buffer.concat(chunks.stderr).toString('utf8'),
  };
};

/** A DockerEngine over dockerode, which is required here, on first use (it is heavy). */
export function connectDocker(target: DockerTarget): DockerEngine {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Docker = require('dockerode') as typeof Dockerode;
  const docker = new Docker(dockerOptions(target));
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw dockerFailure(error, target);
    }
  };
  return {
    label: target.label,
    ping: () => guard(async () => void (await docker.ping())),
    imageEnv: (image) =>
      guard(async () => {
        try {
          return (await docker.getImage(image).inspect()).Config?.Env ?? [];
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return undefined;
          throw error;
        }
      }),
    missingNvidiaRuntime: () =>
      guard(async () => {
        const info = (await docker.info()) as { Runtimes?: Record<string, unknown>; CDISpecDirs?: string[] };
        const runtimes = Object.keys(info.Runtimes ?? {});
        if (runtimes.includes('nvidia') || (info.CDISpecDirs ?? []).length > 0) return undefined;
        return {
          message: `No NVIDIA container runtime on ${target.label}: Docker there lists the runtimes ${runtimes.join(', ') || 'none'} and no CDI devices, so containers cannot get a GPU`,
          hint: `install NVIDIA Container Toolkit on ${target.label}, run sudo nvidia-ctk runtime configure --runtime=docker and restart Docker`,
        };
      }),
    pull: async (image, onProgress, signal) => {
      try {
        const stream = (await docker.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream & {
          destroy?(): void;
        };
        const stop = () => stream.destroy?.();
        signal?.addEventListener('abort', stop, { once: true });
        await new Promise<void>((resolve, reject) =>
          docker.modem.followProgress(
            stream,
            (error) => (error ? reject(error) : signal?.aborted ? reject(new Error('cancelled')) : resolve()),
            (event: { status?: string; progress?: string }) => {
              if (event.status) onProgress(`${event.status}${event.progress ? ` ${event.progress}` : ''}`);
            },
          ),
        ).finally(() => signal?.removeEventListener('abort', stop));
      } catch (error) {
        if (signal?.aborted) throw new DockerFailure({ message: 'cancelled' });
        throw pullFailure(error, image, target);
      }
    },
    create: (spec) =>
      guard(async () => {
        const container = await docker.createContainer({
          name: spec.name,
          Image: spec.image,
          Entrypoint: [...spec.entrypoint],
          Cmd: [...spec.cmd],
          Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          Labels: { ...spec.labels },
          WorkingDir: spec.workingDir,
          HostConfig: {
            Init: true,
            Binds: [...spec.binds],
            Tmpfs: Object.fromEntries((spec.masked ?? []).map((dir) => [dir, 'ro,size=4k'])),
            ShmSize: spec.shmSizeBytes,
            IpcMode: spec.ipcHost ? 'host' : undefined,
            DeviceRequests:
              spec.gpu === null
                ? []
                : [{ Driver: 'nvidia', DeviceIDs: spec.gpu.split(','), Capabilities: [['gpu', 'compute', 'utility']] }],
          },
        });
        return container.id;
      }),
    putArchive: (id, directory, tar) =>
      guard(async () => void (await docker.getContainer(id).putArchive(tar, { path: directory }))),
    start: (id) => guard(async () => void (await docker.getContainer(id).start())),
    waitRunning: (id) =>
      guard(async () => {
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const { State } = await docker.getContainer(id).inspect();
          if (State.Running) continue;
          const logs = (
            await docker
              .getContainer(id)
              .logs({ stdout: true, stderr: true, tail: 5 })
              .catch(() => Buffer.alloc(0))
          )
            .toString('utf8')
            .split('')
            .filter((c) => c >= ' ' || c === '\n')
            .join('')
            .trim();
          throw new DockerFailure({
            message: `the container exited at once (exit ${State.ExitCode})${logs ? `: ${logs.split('\n').slice(-3).join(' ')}` : ''}`,
            hint: 'the image needs `sleep` (coreutils or busybox) for the session to stay up',
          });
        }
      }),
    stop: (id) =>
      guard(async () => {
        try {
          await docker.getContainer(id).stop({ t: 5 });
        } catch (error) {
          const code = (error as { statusCode?: number }).statusCode;
          if (code !== 304 && code !== 404) throw error;
        }
      }),
    list: (labelKey) =>
      guard(async () => {
        const found = await docker.listContainers({ all: true, filters: { label: [labelKey] } });
        return found.map((c) => ({
          id: c.Id,
          name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
          labels: c.Labels ?? {},
          state: c.State,
          createdMs: c.Created * 1000,
        }));
      }),
    exec: (id, argv, env) =>
      guard(async () => {
        const exec = await docker.getContainer(id).exec({
          Cmd: [...argv],
          AttachStdout: true,
          AttachStderr: true,
          Env: Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`),
        });
        const stream = await exec.start({ hijack: true, stdin: false });
        const output = await demuxed(docker.modem, stream);
        return { exitCode: (await exec.inspect()).ExitCode ?? null, ...output };
      }),
    execTerminal: (id, argv, columns, rows) =>
      guard(async () => {
        const exec = await docker.getContainer(id).exec({
          Cmd: [...argv],
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: true,
          Env: ['TERM=xterm-256color'],
        });
        const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
        await exec.resize({ w: columns, h: rows }).catch(() => undefined);
        return {
          stream,
          resize: async (w, h) => void (await exec.resize({ w, h }).catch(() => undefined)),
          exitCode: async () => (await exec.inspect()).ExitCode ?? null,
        };
      }),
    checkGpuAccess: (image, gpu) =>
      guard(async () => {
        const probe = await docker.createContainer({
          Image: image,
          Cmd: ['true'],
          HostConfig: { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: [gpu], Capabilities: [['gpu']] }] },
        });
        try {
          await probe.start();
          await probe.wait();
        } finally {
          await probe.remove({ force: true }).catch(() => undefined);
        }
      }),
    remove: (id) =>
      guard(async () => {
        try {
          await docker.getContainer(id).remove({ force: true });
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 404) throw error;
        }
      }),
  };
}
