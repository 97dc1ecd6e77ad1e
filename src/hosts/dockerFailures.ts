// What Docker or its socket said, as one sentence and a hint: not running, no permission, no NVIDIA
// runtime, an image that cannot be pulled.
import type { GpuDevError } from '../core/errors';

/** The engine a failure is about: its label and socket. */
type EngineAt = { readonly label: string; readonly socketPath: string };

/** A Docker call that failed, in the user's words. */
export class DockerFailure extends Error {
  constructor(readonly failure: GpuDevError) {
    super(failure.message);
  }
}

/** A failed pull in one sentence, with the image's name: offline, unknown image, no login. */
export function pullFailure(error: unknown, image: string, target: EngineAt): DockerFailure {
  const failure = dockerFailure(error, target);
  if (/not running|No permission/.test(failure.failure.message)) return failure;
  const said = failure.failure.message.replace(/^Docker on [^:]+: /, '');
  const offline =
    /dial tcp|lookup .* (no such host|server misbehaving)|i\/o timeout|network is unreachable|TLS handshake|connection refused/i.test(
      said,
    );
  const missing = /not found|manifest unknown|does not exist|pull access denied|repository .* not found/i.test(said);
  return new DockerFailure({
    message: `Docker on ${target.label} could not pull ${image}: ${offline ? 'the registry cannot be reached from there' : missing ? 'no such image, or it needs a login' : said.split('\n')[0]}`,
    hint: offline
      ? `load the image on ${target.label} (docker load), or set gpuDev.cosplay.image to one it has`
      : 'check gpuDev.cosplay.image; for a private registry, docker login there first',
  });
}

/** Turns what Docker or the socket said into a sentence and a hint. */
export function dockerFailure(error: unknown, target: EngineAt): DockerFailure {
  if (error instanceof DockerFailure) return error;
  const e = error as {
    code?: string;
    statusCode?: number;
    json?: { message?: string };
    message?: string;
    reason?: string;
  };
  const said = (e.json?.message ?? e.message ?? String(error)).trim();
  const where = target.label;
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || /ENOENT|ECONNREFUSED|connect failed/.test(said)) {
    return new DockerFailure({
      message: `Docker is not running on ${where} (nothing answers at ${target.socketPath})`,
      hint: 'install Docker Engine there or start it (sudo systemctl start docker)',
    });
  }
  if (e.code === 'EACCES' || /EACCES|permission denied/i.test(said)) {
    return new DockerFailure({
      message: `No permission to use Docker on ${where} (${target.socketPath})`,
      hint: 'add your user to the docker group (sudo usermod -aG docker $USER) and log in again',
    });
  }
  if (
    /could not select device driver|nvidia-container-cli|unknown or invalid runtime name: nvidia|nvidia-container-runtime/i.test(
      said,
    )
  ) {
    return new DockerFailure({
      message: `No NVIDIA container runtime on ${where}: Docker cannot give containers a GPU`,
      hint: `install NVIDIA Container Toolkit on ${where} and restart Docker`,
    });
  }
  if (e.statusCode === 404 && /image/i.test(said))
    return new DockerFailure({
      message: `Docker on ${where}: ${said}`,
      hint: 'check gpuDev.cosplay.image, or pull the image there',
    });
  return new DockerFailure({ message: `Docker on ${where}: ${said.split('\n')[0]}` });
}
