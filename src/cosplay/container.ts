// The session's container: our own entrypoint (so an image whose entrypoint is a server still runs),
// the GPU (or MIG device), the shim on the paths, the workspace and MPS pipe mounted, no privileges.
import type { ContainerSpec } from '../hosts/docker';
import type { ApplyRequest } from './apply';
import { mpsEnv } from './changes';
import { SHIM_DIR } from './hostProfile';
import { containerLabels } from './session';

const SHM_BYTES = 8 * 1024 ** 3;

export interface ContainerFacts {
  readonly uuid: string;
  /** The GPU or MIG device UUID the container gets. */
  readonly device: string;
  readonly imageEnv: readonly string[];
  readonly workspace: string | undefined;
  readonly journal: 'root' | 'user';
  readonly journalDir: string;
  readonly mpsFolder: string | undefined;
}

export function containerSpec(request: ApplyRequest, facts: ContainerFacts): ContainerSpec {
  const { plan } = request;
  const mps = facts.mpsFolder ? mpsEnv(facts.mpsFolder) : undefined;
  return {
    name: request.sessionName,
    image: request.image,
    // Docker's --init runs this under tini; `sleep infinity` keeps it up whatever the image's own entrypoint does.
    entrypoint: ['sleep', 'infinity'],
    cmd: [],
    // Without a DeviceRequest (test hosts) the variable the NVIDIA runtime would set is set here.
    env: {
      ...containerEnv(request, facts.imageEnv, mps?.CUDA_MPS_PIPE_DIRECTORY),
      ...(!request.gpuRequest && { NVIDIA_VISIBLE_DEVICES: facts.device }),
    },
    labels: containerLabels(request.sessionName, facts.journal, facts.uuid, plan.target.key),
    gpu: request.gpuRequest ? facts.device : null,
    binds: [
      ...(facts.workspace ? [`${facts.workspace}:${facts.workspace}`] : []),
      ...(mps ? [`${mps.CUDA_MPS_PIPE_DIRECTORY}:${mps.CUDA_MPS_PIPE_DIRECTORY}`] : []),
      ...(request.extraBinds ?? []),
    ],
    // A workspace that holds the journal (a home folder opened as the workspace) must not let the container edit it.
    masked:
      facts.workspace && `${facts.journalDir}/`.startsWith(`${facts.workspace.replace(/\/+$/, '')}/`)
        ? [facts.journalDir]
        : [],
    workingDir: facts.workspace,
    shmSizeBytes: SHM_BYTES,
    // MPS clients reach the daemon through shared memory as well as the pipe.
    ipcHost: mps !== undefined,
  };
}

function containerEnv(
  request: ApplyRequest,
  imageEnv: readonly string[],
  mpsPipe: string | undefined,
): Record<string, string> {
  const image = Object.fromEntries(
    imageEnv.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const extra = request.extraEnv ?? {};
  const prepend = (first: string, rest: string | undefined) => [first, rest].filter(Boolean).join(':');
  return {
    ...request.plan.container.env,
    ...(mpsPipe && { CUDA_MPS_PIPE_DIRECTORY: mpsPipe }),
    ...extra,
    PATH: prepend(
      `${SHIM_DIR}/bin`,
      prepend(extra.PATH ?? '', image.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
    ),
    PYTHONPATH: prepend(SHIM_DIR, prepend(extra.PYTHONPATH ?? '', image.PYTHONPATH)),
  };
}
