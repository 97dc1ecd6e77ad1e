// Apply: checks that need no change first (GPUs, Docker, the NVIDIA runtime, the image), then under
// the host locks of the session's GPUs (taken in UUID order, so two applies never wait on each other)
// each change journalled on the host before it is made, then one container with every device. Any
// failure (or a cancel) undoes what was made, from the journals, in reverse.
import type { GpuDevError } from '../core/errors';
import { DockerFailure, type DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import { check, GpuApply, StepFailure } from './applyGpu';
import type { BusyProcess } from './busyGpu';
import { GPU_UUID, inLockOrder } from './changes';
import { containerSpec } from './container';
import { SHIM_DIR } from './hostProfile';
import { runHostCommand } from './hostCommands';
import { HostJournal, type GpuLock } from './hostJournal';
import type { PlannedGpu } from './multiPlan';
import type { CosplayPlan } from './planner';
import { restoreAcrossGpus } from './restore';
import type { Session } from './session';

export interface ApplyRequest {
  /** The plan of a one-GPU session (of the first GPU when `gpus` is given: its target and container settings). */
  readonly plan: CosplayPlan;
  readonly gpuIndex: number;
  /** A multi-GPU session: every host GPU with its plan (planMultiCosplay), the first holding the container. */
  readonly gpus?: readonly PlannedGpu[];
  readonly hostLabel: string;
  readonly sessionName: string;
  /** Who applies it, as the journal and the lock name them: user@machine. */
  readonly owner: string;
  readonly image: string;
  readonly sudo: boolean;
  /** The shim as `shimArchive` makes it. */
  readonly shimTar: Buffer;
  /** Mounted at the same path, and the working directory, when the folder exists on the host. */
  readonly workspace?: string;
  /** False only for test hosts without an NVIDIA runtime: the container then gets no GPU. */
  readonly gpuRequest: boolean;
  readonly extraBinds?: readonly string[];
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Asked when other users' processes run on the GPU before its MIG mode, clocks or power change; no answer refuses. */
  readonly confirmBusy?: (processes: readonly BusyProcess[]) => Promise<boolean>;
  /** Pauses this host's GPU monitoring while MIG mode changes (a persistent client can leave the change pending); returns resume. */
  readonly pauseMonitor?: () => () => void;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: string) => void;
}

export type ApplyOutcome =
  | { readonly ok: true; readonly session: Session }
  | {
      readonly ok: false;
      readonly error: GpuDevError;
      readonly failedStep: string;
      readonly restored: boolean;
      readonly undoFailures: readonly string[];
    };

/** A session name Docker accepts as a container name, unique enough to never collide. */
export function newSessionName(targetKey: string, gpuIndex: number | readonly number[], random = Math.random): string {
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  const gpus = typeof gpuIndex === 'number' ? String(gpuIndex) : gpuIndex.join('-');
  return `gpudev-${targetKey.replace(/[^a-zA-Z0-9_.-]/g, '-')}-gpu${gpus}-${suffix}`;
}

export async function applyCosplay(request: ApplyRequest, runner: Runner, docker: DockerEngine): Promise<ApplyOutcome> {
  const { sessionName, sudo } = request;
  const planned = request.gpus ?? [{ gpuIndex: request.gpuIndex, plan: request.plan, slices: 1 }];
  const several = planned.length > 1 || planned[0]!.slices > 1;
  let step = 'check the plan';
  const begin = (description: string) => {
    if (request.signal?.aborted) throw new StepFailure({ message: 'cancelled' });
    step = description;
    request.onStep?.(description);
  };
  const host = async (args: readonly string[], stdin?: string) => {
    const done = await runHostCommand(runner, { argv: args, ...(stdin !== undefined && { stdin }) }, sudo);
    if (!done.ok) throw new StepFailure(done.error);
    return done.stdout;
  };
  const gpuCount = planned.reduce((sum, g) => sum + g.slices, 0);
  let journal: HostJournal | undefined;
  const gpus: GpuApply[] = [];
  const locks: GpuLock[] = [];
  try {
    if (planned.some((g) => g.plan.gpuCount !== gpuCount))
      throw new StepFailure({
        message: `the plan cosplays ${planned[0]!.plan.gpuCount} GPUs; ${gpuCount === 1 ? 'one was' : `${gpuCount} were`} given to apply it on`,
        hint: 'plan the session for its GPUs (gpudev cosplay up --num N)',
      });
    const uuids: string[] = [];
    for (const { gpuIndex } of planned) {
      begin(`read GPU ${gpuIndex}`);
      const [uuid = ''] = (
        await host(['nvidia-smi', '-i', String(gpuIndex), '--query-gpu=uuid', '--format=csv,noheader,nounits'])
      )
        .trim()
        .split(/\s*,\s*/);
      if (!GPU_UUID.test(uuid))
        throw new StepFailure({
          message: `GPU ${gpuIndex} reports no UUID (${uuid || 'nothing'}): its changes could not be recorded`,
        });
      if (uuids.includes(uuid)) throw new StepFailure({ message: `GPU ${gpuIndex} is given twice (${uuid})` });
      uuids.push(uuid);
    }
    const indices = planned.map((g) => g.gpuIndex).join(', ');

    begin(`check Docker on ${request.hostLabel}`);
    await docker.ping();
    const pulling = !(await docker.imageEnv(request.image));
    // A multi-GB pull is not made for a host that cannot hand out GPUs. Without a registered runtime
    // `--gpus` may still work (the toolkit's hook alone): with the image there, the probe below decides.
    const missing = request.gpuRequest && pulling ? await docker.missingNvidiaRuntime() : undefined;
    if (missing) throw new StepFailure(missing);
    if (pulling) {
      begin(`pull ${request.image}`);
      await docker.pull(
        request.image,
        (status) => request.onStep?.(`pull ${request.image}: ${status}`),
        request.signal,
      );
    }
    if (request.gpuRequest) {
      // Before anything on the host changes: a runtime that cannot hand out a GPU fails here, not after MIG mode.
      begin(`check that containers can use GPU${several ? 's' : ''} ${indices}`);
      for (const uuid of uuids) await docker.checkGpuAccess(request.image, uuid);
    }

    journal = check(await HostJournal.open(runner, sudo));
    const store = journal;
    const context = { runner, request, store, begin, host: (args: readonly string[]) => host(args) };
    planned.forEach((g, i) => gpus.push(new GpuApply(g, uuids[i]!, several ? uuids : [], context)));
    for (const gpu of inLockOrder(uuids).map((uuid) => gpus.find((g) => g.uuid === uuid)!)) {
      const index = gpu.gpu.gpuIndex;
      begin(`wait for GPU ${index}'s lock on ${request.hostLabel}`);
      locks.push(
        check(
          await store.lock(gpu.uuid, `${request.owner} (apply ${sessionName})`, (heldBy) =>
            request.onStep?.(`waiting for GPU ${index}: locked by ${heldBy}`),
          ),
        ),
      );
    }
    // The originals are read under the locks: a session stopping meanwhile may have put a GPU back.
    // Every GPU is checked before any changes, so a clash on the last leaves the first untouched.
    for (const gpu of gpus) await gpu.prepare();
    const devices: string[] = [];
    for (const gpu of gpus) devices.push(...(await gpu.make()));

    begin('create the container');
    const primary = gpus[0]!;
    const workspace =
      request.workspace && (await runner.run(['test', '-d', request.workspace])).exitCode === 0
        ? request.workspace
        : undefined;
    const imageEnv = (await docker.imageEnv(request.image)) ?? [];
    const mps = gpus
      .flatMap((g) => g.ownRecord?.steps ?? [])
      .map((s) => s.change)
      .filter((c) => c.kind === 'mpsDaemon');
    await primary.record(null, { kind: 'container', name: sessionName }, 'intended');
    const id = await docker.create(
      containerSpec(request, {
        uuid: primary.uuid,
        device: devices.join(','),
        imageEnv,
        workspace,
        journal: store.kind,
        journalDir: store.dir,
        mpsFolder: mps[0]?.kind === 'mpsDaemon' ? mps[0].folder : undefined,
      }),
    );
    await primary.record(null, { kind: 'container', name: sessionName, id }, 'done');
    begin('copy the shim into the container');
    await docker.putArchive(id, '/', request.shimTar);
    begin('start the container');
    await docker.start(id);
    await docker.waitRunning(id);
    // Bytecode once, as the container's own user: otherwise a user who cannot write there compiles the
    // shim again at every nvidia-smi call (tens of milliseconds). Its exit status does not matter.
    begin('compile the shim');
    await docker.exec(id, ['python3', '-m', 'compileall', '-q', SHIM_DIR]);
    const plan = primary.ownRecord!.plan;
    const session: Session = {
      name: sessionName,
      owner: request.owner,
      hostLabel: request.hostLabel,
      gpuIndex: primary.gpu.gpuIndex,
      gpuUuid: primary.uuid,
      ...(gpus.length > 1 && { gpus: gpus.map((g) => ({ index: g.gpu.gpuIndex, uuid: g.uuid })) }),
      createdMs: Date.now(),
      plan: { ...plan, device: devices.join(',') },
      containerId: id,
      running: true,
      state: 'running',
      changes: gpus.flatMap((g) => g.descriptions()),
      journal: store.kind,
    };
    return { ok: true, session };
  } catch (error) {
    const failure =
      error instanceof StepFailure
        ? error.error
        : error instanceof DockerFailure
          ? error.failure
          : { message: (error as Error).message };
    const undoFailures: string[] = [];
    const recorded = gpus.flatMap((g) => (g.current && g.ownRecord ? [g.current] : []));
    if (journal && recorded.length) {
      const { outcome } = await restoreAcrossGpus(recorded, sessionName, { runner, docker, journal });
      if (outcome.failure) undoFailures.push(outcome.failure);
    }
    return { ok: false, error: failure, failedStep: step, restored: undoFailures.length === 0, undoFailures };
  } finally {
    locks.reverse().forEach((lock) => lock.release());
  }
}
