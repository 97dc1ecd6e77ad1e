// Apply: checks that need no change first (GPU, Docker, the NVIDIA runtime, the image), then under the
// GPU's host lock each change journalled on the host before it is made, then the container. Any
// failure (or a cancel) undoes what was made, from the journal, in reverse.
import type { GpuDevError } from '../core/errors';
import { DockerFailure, type DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import { busyByOthers, type BusyProcess } from './busyGpu';
import { GPU_UUID, makeCommand, type Change } from './changes';
import { containerSpec } from './container';
import { createdGpuInstance, memoryClockAtMost, migUuidsOf, runHostCommand } from './hostCommands';
import { HostJournal } from './hostJournal';
import { clashWith, type GpuJournal } from './journal';
import { concreteChange, sessionPlanOf, wantedSettings } from './journalTerms';
import type { CosplayPlan, HostMutation } from './planner';
import { restoreSession } from './restore';
import type { Session } from './session';

export interface ApplyRequest {
  readonly plan: CosplayPlan;
  readonly gpuIndex: number;
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

class StepFailure extends Error {
  constructor(readonly error: GpuDevError) {
    super(error.message);
  }
}
/** A value, or the error it is thrown as. */
const check = <T extends object>(value: T | GpuDevError): T => {
  if ('message' in value && typeof value.message === 'string') throw new StepFailure(value);
  return value as T;
};

/** A session name Docker accepts as a container name, unique enough to never collide. */
export function newSessionName(targetKey: string, gpuIndex: number, random = Math.random): string {
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `gpudev-${targetKey.replace(/[^a-zA-Z0-9_.-]/g, '-')}-gpu${gpuIndex}-${suffix}`;
}

export async function applyCosplay(request: ApplyRequest, runner: Runner, docker: DockerEngine): Promise<ApplyOutcome> {
  const { plan, gpuIndex, sessionName, sudo } = request;
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
  let journal: HostJournal | undefined;
  let current: GpuJournal | undefined;
  let release: (() => void) | undefined;
  try {
    if (plan.gpuCount !== 1)
      throw new StepFailure({ message: 'a session cosplays one GPU', hint: 'apply a plan for one GPU' });
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
      // Before anything on the host changes: a runtime that cannot hand out this GPU fails here, not after MIG mode.
      begin(`check that containers can use GPU ${gpuIndex}`);
      await docker.checkGpuAccess(request.image, uuid);
    }

    begin(`wait for GPU ${gpuIndex}'s lock on ${request.hostLabel}`);
    journal = check(await HostJournal.open(runner, sudo));
    const lock = check(
      await journal.lock(uuid, `${request.owner} (apply ${sessionName})`, (heldBy) =>
        request.onStep?.(`waiting for GPU ${gpuIndex}: locked by ${heldBy}`),
      ),
    );
    release = () => lock.release();
    const store = journal;
    current = check(await store.read(uuid));
    // The originals are read under the lock: a session stopping meanwhile may have put the GPU back.
    const [powerLimit, persistence, migMode] = (
      await host([
        'nvidia-smi',
        '-i',
        uuid,
        '--query-gpu=power.limit,persistence_mode,mig.mode.current',
        '--format=csv,noheader,nounits',
      ])
    )
      .trim()
      .split(/\s*,\s*/);
    const originalWatts = Math.round(Number(powerLimit));
    if (plan.mutations.some((m) => m.change.kind === 'powerCap') && !(originalWatts > 0)) {
      throw new StepFailure({
        message: `GPU ${gpuIndex} does not report its power limit (${powerLimit ?? 'nothing'}), so a cap could not be undone`,
        hint: 'plan with a host whose power limit can be read',
      });
    }
    const save = async (next: GpuJournal) => {
      current = next;
      const failed = await store.write(next);
      if (failed) throw new StepFailure(failed);
    };

    const memoryMHz = await memoryClockFor(plan, uuid, host);
    const joining = current.sessions.length > 0;
    const clash = clashWith(current, wantedSettings(plan, memoryMHz));
    if (clash) throw new StepFailure(clash);
    const changes = plan.mutations.filter((m) => !(m.gpuWide && joining));
    if (changes.some((m) => m.gpuWide)) await refuseIfBusy(runner, uuid, gpuIndex, request);

    const sessionPlan = sessionPlanOf(plan, uuid);
    await save({
      ...current,
      sessions: [
        ...current.sessions,
        {
          name: sessionName,
          owner: request.owner,
          startedAt: new Date().toISOString(),
          hostLabel: request.hostLabel,
          gpuIndex,
          plan: sessionPlan,
          steps: [],
        },
      ],
    });
    const record = async (mutation: HostMutation | null, change: Change, state: 'intended' | 'done') => {
      const at = new Date().toISOString();
      const session = current!.sessions.find((s) => s.name === sessionName)!;
      const replaceLast = state === 'done';
      if (mutation?.gpuWide) {
        const gpuWide = replaceLast
          ? [...current!.gpuWide.slice(0, -1), { change, state, at, by: sessionName }]
          : [...current!.gpuWide, { change, state, at, by: sessionName }];
        return save({ ...current!, gpuWide });
      }
      const steps = replaceLast
        ? [...session.steps.slice(0, -1), { change, state, at }]
        : [...session.steps, { change, state, at }];
      return save({
        ...current!,
        sessions: current!.sessions.map((s) => (s.name === sessionName ? { ...s, steps } : s)),
      });
    };

    let migUuid: string | undefined;
    for (const mutation of changes) {
      begin(mutation.description);
      let change = concreteChange(mutation, {
        persistence: persistence === 'Enabled',
        migMode: migMode === 'Enabled',
        originalWatts,
        memoryMHz,
        mpsFolder: `${store.mpsRoot}/${sessionName}`,
      });
      await record(mutation, change, 'intended');
      if (change.kind === 'mpsDaemon')
        await host(['mkdir', '-p', '-m', '0700', '--', `${change.folder}/pipe`, `${change.folder}/log`]);
      const before = change.kind === 'gpuInstance' ? migUuidsOf(await host(['nvidia-smi', '-L']), gpuIndex) : [];
      const resume = change.kind === 'migMode' ? request.pauseMonitor?.() : undefined;
      const command = makeCommand(change, uuid)!;
      const stdout = await runHostCommand(runner, command, sudo).finally(() => resume?.());
      if (!stdout.ok) throw new StepFailure(stdout.error);
      if (change.kind === 'gpuInstance') {
        const gi = createdGpuInstance(stdout.stdout);
        if (gi === null)
          throw new StepFailure({
            message: `nvidia-smi did not say which GPU instance it created: ${stdout.stdout.trim().slice(0, 200)}`,
          });
        const created = migUuidsOf(await host(['nvidia-smi', '-L']), gpuIndex).filter((u) => !before.includes(u));
        change = { ...change, gi: Number(gi), ...(created.length === 1 && { migUuid: created[0] }) };
        await record(mutation, change, 'done');
        if (created.length !== 1)
          throw new StepFailure({ message: `expected one new MIG device on GPU ${gpuIndex}, found ${created.length}` });
        migUuid = created[0];
      } else {
        await record(mutation, change, 'done');
      }
    }

    begin('create the container');
    const device = plan.chosen.migProfile ? migUuid! : uuid;
    await save({
      ...current,
      sessions: current.sessions.map((s) => (s.name === sessionName ? { ...s, plan: { ...s.plan, device } } : s)),
    });
    const workspace =
      request.workspace && (await runner.run(['test', '-d', request.workspace])).exitCode === 0
        ? request.workspace
        : undefined;
    const imageEnv = (await docker.imageEnv(request.image)) ?? [];
    const mps = current.sessions
      .find((s) => s.name === sessionName)!
      .steps.find((s) => s.change.kind === 'mpsDaemon')?.change;
    await record(null, { kind: 'container', name: sessionName }, 'intended');
    const id = await docker.create(
      containerSpec(request, {
        uuid,
        device,
        imageEnv,
        workspace,
        journal: store.kind,
        journalDir: store.dir,
        mpsFolder: mps?.kind === 'mpsDaemon' ? mps.folder : undefined,
      }),
    );
    await record(null, { kind: 'container', name: sessionName, id }, 'done');
    begin('copy the shim into the container');
    await docker.putArchive(id, '/', request.shimTar);
    begin('start the container');
    await docker.start(id);
    await docker.waitRunning(id);
    const session: Session = {
      name: sessionName,
      owner: request.owner,
      hostLabel: request.hostLabel,
      gpuIndex,
      gpuUuid: uuid,
      createdMs: Date.now(),
      plan: { ...sessionPlan, device },
      containerId: id,
      running: true,
      state: 'running',
      changes: changes.map((m) => m.description),
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
    if (journal && current?.sessions.some((s) => s.name === sessionName)) {
      const { outcome } = await restoreSession(current, sessionName, { runner, docker, journal });
      if (outcome.failure) undoFailures.push(outcome.failure);
    }
    return { ok: false, error: failure, failedStep: step, restored: undoFailures.length === 0, undoFailures };
  } finally {
    release?.();
  }
}

/** The memory clock to lock (MHz), read from the GPU's supported clocks, when the plan locks one. */
async function memoryClockFor(
  plan: CosplayPlan,
  uuid: string,
  host: (args: readonly string[]) => Promise<string>,
): Promise<number | null> {
  const planned = plan.mutations.find((m) => m.change.kind === 'memoryClockLock')?.change;
  if (planned?.kind !== 'memoryClockLock') return null;
  const clock = memoryClockAtMost(
    await host(['nvidia-smi', '-i', uuid, '--query-supported-clocks=memory', '--format=csv,noheader,nounits']),
    planned.percent,
  );
  if (clock === null) throw new StepFailure({ message: `GPU ${uuid} reports no supported memory clocks` });
  return clock;
}

async function refuseIfBusy(runner: Runner, uuid: string, gpuIndex: number, request: ApplyRequest): Promise<void> {
  const busy = check(await busyByOthers(runner, uuid));
  if (!busy.length) return;
  if (await request.confirmBusy?.(busy)) return;
  throw new StepFailure({
    message: `GPU ${gpuIndex} has processes of other users: ${busy.map((p) => `${p.pid} (${p.user ?? 'owner unknown'}, ${p.name})`).join(', ')}; changing its MIG mode, clocks or power would affect them`,
    hint: 'wait until they finish, pick another GPU, or go on anyway (--force)',
  });
}
