// Apply: a plan's host changes, each pushed on a rollback stack, then the labelled container.
// Any failure (or a cancel) undoes every earlier step in reverse.
import type { GpuDevError } from '../core/errors';
import { DockerFailure, type DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import { SHIM_DIR } from './hostProfile';
import { createdGpuInstance, fillPlaceholders, memoryClockAtMost, migUuidsOf, runHostCommand, type Placeholders } from './hostCommands';
import { clashError, clashingSession, type CosplayPlan, type HostCommand, type HostMutation } from './planner';
import { expectedOf, liveSessionOf, sessionLabels, type RestoreStep, type Session, type SessionPlan } from './session';
import { listSessions, MPS_ROOT, sameGpu } from './sessions';

const SHM_BYTES = 8 * 1024 ** 3;

export interface ApplyRequest {
  readonly plan: CosplayPlan;
  readonly gpuIndex: number;
  readonly hostLabel: string;
  readonly sessionName: string;
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
  readonly signal?: AbortSignal;
  readonly onStep?: (step: string) => void;
}

export type ApplyOutcome =
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly error: GpuDevError; readonly failedStep: string; readonly restored: boolean; readonly undoFailures: readonly string[] };

class StepFailure extends Error {
  constructor(readonly error: GpuDevError) {
    super(error.message);
  }
}

/** A session name Docker accepts as a container name, unique enough to never collide. */
export function newSessionName(targetKey: string, gpuIndex: number, random = Math.random): string {
  const suffix = Math.floor(random() * 0x10000).toString(16).padStart(4, '0');
  return `gpudev-${targetKey.replace(/[^a-zA-Z0-9_.-]/g, '-')}-gpu${gpuIndex}-${suffix}`;
}

/** Applies in progress per host and GPU: a second apply on the same GPU waits (its "original" settings would be ours). */
const applying = new Map<string, Promise<unknown>>();

export async function applyCosplay(request: ApplyRequest, runner: Runner, docker: DockerEngine): Promise<ApplyOutcome> {
  const key = `${request.hostLabel}\0${request.gpuIndex}`;
  const previous = applying.get(key) ?? Promise.resolve();
  const mine = previous.then(() => applyInTurn(request, runner, docker));
  const settled = mine.catch(() => undefined);
  applying.set(key, settled);
  try {
    return await mine;
  } finally {
    if (applying.get(key) === settled) applying.delete(key);
  }
}

async function applyInTurn(request: ApplyRequest, runner: Runner, docker: DockerEngine): Promise<ApplyOutcome> {
  const { plan, gpuIndex, sessionName, sudo } = request;
  const undo: Array<{ description: string; run: () => Promise<GpuDevError | undefined> }> = [];
  const restore: RestoreStep[] = [];
  let step = 'check Docker';
  const begin = (description: string) => {
    if (request.signal?.aborted) throw new StepFailure({ message: 'cancelled' });
    step = description;
    request.onStep?.(description);
  };
  const host = async (command: Parameters<typeof runHostCommand>[1]) => {
    const done = await runHostCommand(runner, command, sudo);
    if (!done.ok) throw new StepFailure(done.error);
    return done.stdout;
  };
  try {
    if (plan.gpuCount !== 1) throw new StepFailure({ message: 'a session cosplays one GPU', hint: 'apply a plan for one GPU' });
    begin(`read GPU ${gpuIndex}`);
    const [uuid, powerLimit, persistence] = (await host({ argv: ['nvidia-smi', '-i', String(gpuIndex), '--query-gpu=uuid,power.limit,persistence_mode', '--format=csv,noheader,nounits'] })).trim().split(/\s*,\s*/);
    if (plan.mutations.some((m) => m.undo.some((c) => c.argv.includes('{originalPowerLimit}'))) && !Number.isFinite(Number(powerLimit))) {
      throw new StepFailure({ message: `GPU ${gpuIndex} does not report its power limit (${powerLimit ?? 'nothing'}), so a cap could not be undone`, hint: 'plan with a host whose power limit can be read' });
    }
    const values: Record<string, string> = {
      gpu: String(gpuIndex), 'gpu-uuid': uuid ?? '', originalPowerLimit: String(Math.round(Number(powerLimit))), originalPersistence: persistence === 'Enabled' ? '1' : '0',
      'mps-pipe-dir': `${MPS_ROOT}/${sessionName}/pipe`, 'mps-log-dir': `${MPS_ROOT}/${sessionName}/log`,
    };

    begin(`check Docker on ${request.hostLabel}`);
    await docker.ping();
    const { sessions } = await listSessions(docker);
    const neighbours = sessions.filter((s) => s.running && sameGpu(s, gpuIndex, values['gpu-uuid']!));
    const clash = clashingSession({ clockLockMHz: plan.chosen.clockLockMHz, powerCapW: plan.powerCapW, memoryClockShare: plan.chosen.memoryClockShare }, neighbours.map(liveSessionOf));
    if (clash) throw new StepFailure(clashError(clash));
    // GPU-wide settings another session already made stay as they are; its restore steps travel with this one too.
    const inherited = neighbours[0]?.restore.filter((r) => r.gpuWide) ?? [];

    let imageEnv = await docker.imageEnv(request.image);
    if (!imageEnv) {
      begin(`pull ${request.image}`);
      await docker.pull(request.image, (status) => request.onStep?.(`pull ${request.image}: ${status}`));
      imageEnv = (await docker.imageEnv(request.image)) ?? [];
    }

    if (request.gpuRequest) {
      // Before anything on the host changes: a host without the NVIDIA runtime fails here, not after MIG mode.
      begin(`check that containers can use GPU ${gpuIndex}`);
      await docker.checkGpuAccess(request.image, values['gpu-uuid'] || String(gpuIndex));
    }

    for (const mutation of plan.mutations) {
      if (mutation.gpuWide && inherited.length) continue;
      begin(mutation.description);
      await applyMutation(mutation, values, { host, runner, gpuIndex, undo, restore, sudo });
    }

    begin('create the container');
    const workspace = request.workspace && (await runner.run(['test', '-d', request.workspace])).exitCode === 0 ? request.workspace : undefined;
    const sessionPlan = sessionPlanOf(plan, values);
    const restoreSteps = [...restore].reverse().concat(inherited);
    const container = await docker.create({
      name: sessionName,
      image: request.image,
      cmd: ['sleep', 'infinity'],
      // Without a DeviceRequest (test hosts) the variable the NVIDIA runtime would set is set here.
      env: { ...containerEnv(request, imageEnv, values), ...(!request.gpuRequest && sessionPlan.device && { NVIDIA_VISIBLE_DEVICES: sessionPlan.device }) },
      labels: sessionLabels({ name: sessionName, hostLabel: request.hostLabel, gpuIndex, plan: sessionPlan, restore: restoreSteps }),
      gpu: request.gpuRequest ? sessionPlan.device : null,
      binds: [...(workspace ? [`${workspace}:${workspace}`] : []), ...(plan.chosen.mpsThreadPercent !== null ? [`${values['mps-pipe-dir']}:${values['mps-pipe-dir']}`] : []), ...(request.extraBinds ?? [])],
      workingDir: workspace,
      shmSizeBytes: SHM_BYTES,
      ipcHost: plan.chosen.mpsThreadPercent !== null,
    });
    undo.push({ description: 'remove the container', run: async () => docker.remove(container).then(() => undefined, (e: DockerFailure) => e.failure) });

    begin('copy the shim into the container');
    await docker.putArchive(container, '/', request.shimTar);
    begin('start the container');
    await docker.start(container);
    const session: Session = {
      name: sessionName, containerId: container, running: true, state: 'running', createdMs: Date.now(),
      hostLabel: request.hostLabel, gpuIndex, plan: sessionPlan, restore: restoreSteps,
    };
    return { ok: true, session };
  } catch (error) {
    const failure = error instanceof StepFailure ? error.error : error instanceof DockerFailure ? error.failure : { message: (error as Error).message };
    const undoFailures: string[] = [];
    for (const entry of undo.reverse()) {
      const failed = await entry.run();
      if (failed) undoFailures.push(`${entry.description}: ${failed.message}`);
    }
    return { ok: false, error: failure, failedStep: step, restored: undoFailures.length === 0, undoFailures };
  }
}

interface MutationContext {
  readonly host: (command: Parameters<typeof runHostCommand>[1]) => Promise<string>;
  readonly runner: Runner;
  readonly gpuIndex: number;
  readonly sudo: boolean;
  readonly undo: Array<{ description: string; run: () => Promise<GpuDevError | undefined> }>;
  readonly restore: RestoreStep[];
}

async function applyMutation(mutation: HostMutation, values: Record<string, string>, context: MutationContext): Promise<void> {
  const { host, gpuIndex } = context;
  const record = (description: string, gpuWide: boolean, commands: readonly HostCommand[]) => {
    context.restore.push({ description, gpuWide, commands: commands.map((c) => ({ ...c, argv: [...c.argv] })) });
    context.undo.push({
      description,
      run: async () => {
        for (const command of commands) {
          const done = await runHostCommand(context.runner, command, context.sudo);
          if (!done.ok) return done.error;
        }
        return undefined;
      },
    });
  };
  const isMps = mutation.run.env?.CUDA_MPS_PIPE_DIRECTORY !== undefined;
  if (isMps) {
    const dirs = [values['mps-pipe-dir']!, values['mps-log-dir']!];
    await host({ argv: ['mkdir', '-p', ...dirs] });
    record('remove the MPS directories', false, [{ argv: ['rm', '-rf', dirs[0]!.slice(0, dirs[0]!.lastIndexOf('/'))] }]);
  }
  const memoryPlaceholder = mutation.run.argv.map((a) => /^\{memoryClockAtMost(\d+)Percent\}$/.exec(a)).find(Boolean);
  if (memoryPlaceholder) {
    const csv = await host({ argv: ['nvidia-smi', '-i', String(gpuIndex), '--query-supported-clocks=memory', '--format=csv,noheader,nounits'] });
    const clock = memoryClockAtMost(csv, Number(memoryPlaceholder[1]));
    if (clock === null) throw new StepFailure({ message: `GPU ${gpuIndex} reports no supported memory clocks` });
    values[memoryPlaceholder[0]!.slice(1, -1)] = `${clock},${clock}`;
  }
  const isMigCreate = mutation.run.argv.includes('-cgi');
  const before = isMigCreate ? migUuidsOf(await host({ argv: ['nvidia-smi', '-L'] }), gpuIndex) : [];
  const stdout = await host(fillPlaceholders(mutation.run, values));
  if (isMigCreate) {
    const gi = createdGpuInstance(stdout);
    if (gi === null) throw new StepFailure({ message: `nvidia-smi did not say which GPU instance it created: ${stdout.trim().slice(0, 200)}` });
    values.gi = gi;
  }
  record(mutation.description, mutation.gpuWide, mutation.undo.map((command) => fillPlaceholders(command, values)));
  if (isMigCreate) {
    const created = migUuidsOf(await host({ argv: ['nvidia-smi', '-L'] }), gpuIndex).filter((u) => !before.includes(u));
    if (created.length !== 1) throw new StepFailure({ message: `expected one new MIG device on GPU ${gpuIndex}, found ${created.length}` });
    values['mig-uuid'] = created[0]!;
  }
}

function sessionPlanOf(plan: CosplayPlan, values: Placeholders): SessionPlan {
  const device = plan.container.device.replace(/\{([\w-]+)\}/g, (_, name: string) => values[name] ?? '');
  return {
    target: plan.target.key, targetName: plan.target.name, host: plan.host.key, strategy: plan.chosen.strategy,
    gpuUuid: values['gpu-uuid'] || null, device: device || null, vramMiB: plan.target.vramMiB,
    clockLockMHz: plan.chosen.clockLockMHz, powerCapW: plan.powerCapW, memoryClockShare: plan.chosen.memoryClockShare,
    boostClockMHz: plan.host.boostClockMHz, expected: expectedOf(plan),
  };
}

function containerEnv(request: ApplyRequest, imageEnv: readonly string[], values: Placeholders): Record<string, string> {
  const image = Object.fromEntries(imageEnv.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  const extra = request.extraEnv ?? {};
  const prepend = (first: string, rest: string | undefined) => [first, rest].filter(Boolean).join(':');
  return {
    ...request.plan.container.env,
    ...(request.plan.chosen.mpsThreadPercent !== null && { CUDA_MPS_PIPE_DIRECTORY: values['mps-pipe-dir']! }),
    ...extra,
    PATH: prepend(`${SHIM_DIR}/bin`, prepend(extra.PATH ?? '', image.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')),
    PYTHONPATH: prepend(SHIM_DIR, prepend(extra.PYTHONPATH ?? '', image.PYTHONPATH)),
  };
}
