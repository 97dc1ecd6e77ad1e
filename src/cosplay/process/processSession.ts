// A process session: a cosplay that is a set of the user's own processes instead of a container (no
// Docker, no root needed): an MPS daemon on a private pipe folder when the plan uses MPS, the shim and
// the disguise in a session folder, and a session sshd serving that disguise. Journalled and locked
// like a container session; the steps that need root are applied with sudo only, else reported.
import type { GpuDevError } from '../../core/errors';
import type { RunResult, Runner } from '../../hosts/runner';
import { GPU_UUID, makeCommand, mpsEnv } from '../changes';
import { runHostCommand } from '../hostCommands';
import { HostJournal } from '../hostJournal';
import type { GpuJournal } from '../journal';
import { concreteChange, sessionPlanOf } from '../journalTerms';
import type { CosplayPlan, HostMutation } from '../planner';
import { restoreSession, type RestoreOutcome } from '../restore';
import { keeperArgv } from './jobKeeper';
import { parseStarted, sessionFolder, sshdArgv, startScript, waitScript, type StartedSshd } from './sessionFiles';

export interface ProcessApplyRequest {
  readonly plan: CosplayPlan;
  readonly gpuIndex: number;
  readonly hostLabel: string;
  readonly sessionName: string;
  readonly owner: string;
  /** The shim as a tar archive with `shim/` at its root. */
  readonly shimTar: Buffer;
  /** Public keys (OpenSSH one-line form) let into the session sshd. */
  readonly authorizedKeys: readonly string[];
  /**
   * Inside a Slurm job: starts a long-running program as a step of its own (detached, so it outlives this
   * call and ends with the job). The MPS daemon and the session sshd then run in the foreground there.
   */
  readonly jobStep?: (argv: readonly string[], env?: Readonly<Record<string, string>>) => Promise<RunResult>;
  /** More variables for the session (the test hosts' fake GPU), after the plan's; never `PATH`, which stays the host's. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly onStep?: (step: string) => void;
}

export interface ProcessSession {
  readonly name: string;
  readonly gpuUuid: string;
  readonly folder: string;
  readonly sshd: StartedSshd;
  /** The plan's steps left out without root, each with what it costs the disguise. */
  readonly notApplied: readonly string[];
}

export type ProcessApplyOutcome =
  | { readonly ok: true; readonly session: ProcessSession }
  | { readonly ok: false; readonly error: GpuDevError; readonly failedStep: string; readonly restored: boolean };

class StepFailure extends Error {
  constructor(readonly error: GpuDevError) {
    super(error.message);
  }
}

function launched(result: RunResult): void {
  if (result.failure) throw new StepFailure(result.failure);
  if (result.exitCode !== 0)
    throw new StepFailure({
      message: `could not start a job step: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    });
}

/** Asks until `argv` succeeds (about 15 s at most). */
async function waitFor(runner: Runner, argv: readonly string[], failure: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await runner.run(argv)).exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new StepFailure({ message: failure });
}

/** What leaving a root-only change out costs, in the plan's terms. */
export function notAppliedNote(mutation: HostMutation, plan: CosplayPlan): string {
  const change = mutation.change;
  const boost = plan.host.boostClockMHz;
  if (change.kind === 'clockLock')
    return `not applied: needs root — ${mutation.description}; FP32 and tensor throughput run at up to ${boost} MHz, about ${(boost / change.mhz).toFixed(2)}× the planned rate`;
  if (change.kind === 'powerCap')
    return `not applied: needs root — ${mutation.description}; the GPU may draw up to its own limit, so sustained clocks stay higher than the target's`;
  if (change.kind === 'memoryClockLock')
    return `not applied: needs root — ${mutation.description}; memory bandwidth stays the host's`;
  return `not applied: needs root — ${mutation.description}`;
}

/** Plans that a process session cannot make without root: MIG slices are created by root only. */
export function processRefusal(plan: CosplayPlan): GpuDevError | undefined {
  if (plan.chosen.strategy === 'mig')
    return {
      message: 'a MIG slice can only be made by root, and a session without Docker or sudo has neither',
      hint: 'plan with --strategy mps (or memory), or turn sudo on for this host',
    };
  if (plan.gpuCount !== 1) return { message: 'a process session cosplays one GPU', hint: 'apply a plan for one GPU' };
  return undefined;
}

export async function applyProcessSession(request: ProcessApplyRequest, runner: Runner): Promise<ProcessApplyOutcome> {
  const { plan, gpuIndex, sessionName } = request;
  let step = 'check the plan';
  const begin = (description: string) => {
    step = description;
    request.onStep?.(description);
  };
  const host = async (args: readonly string[]) => {
    const done = await runHostCommand(runner, { argv: args }, false);
    if (!done.ok) throw new StepFailure(done.error);
    return done.stdout;
  };
  let journal: HostJournal | undefined;
  let current: GpuJournal | undefined;
  let release: (() => void) | undefined;
  try {
    const refused = processRefusal(plan);
    if (refused) throw new StepFailure(refused);
    begin(`read GPU ${gpuIndex}`);
    // The journal folder is opened (checked, made) while the GPU answers: each is a round trip of its own.
    const [smi, opened] = await Promise.all([
      host(['nvidia-smi', '-i', String(gpuIndex), '--query-gpu=uuid', '--format=csv,noheader']).catch(
        (error: unknown) => error as Error,
      ),
      HostJournal.open(runner, false),
    ]);
    if (smi instanceof Error) throw smi;
    const uuid = smi.trim().split('\n')[0]!.trim();
    if (!GPU_UUID.test(uuid))
      throw new StepFailure({ message: `GPU ${gpuIndex} reports no UUID (${uuid || 'nothing'})` });

    begin(`wait for GPU ${gpuIndex}'s lock on ${request.hostLabel}`);
    if ('message' in opened) throw new StepFailure(opened);
    journal = opened;
    const store = opened;
    const lock = await store.lock(uuid, `${request.owner} (apply ${sessionName})`, (heldBy) =>
      request.onStep?.(`waiting for GPU ${gpuIndex}: locked by ${heldBy}`),
    );
    if ('message' in lock) throw new StepFailure(lock);
    release = () => lock.release();
    const read = await store.read(uuid);
    if ('message' in read) throw new StepFailure(read);
    current = read;
    const save = async (next: GpuJournal) => {
      current = next;
      const failed = await store.write(next);
      if (failed) throw new StepFailure(failed);
    };
    const steps = (update: (s: GpuJournal['sessions'][number]['steps']) => GpuJournal['sessions'][number]['steps']) =>
      save({
        ...current!,
        sessions: current!.sessions.map((s) => (s.name === sessionName ? { ...s, steps: update(s.steps) } : s)),
      });
    const at = () => new Date().toISOString();

    const rootOnly = plan.mutations.filter((m) => m.change.kind !== 'mpsDaemon');
    const notApplied = rootOnly.map((m) => notAppliedNote(m, plan));
    const mps = plan.mutations.find((m) => m.change.kind === 'mpsDaemon');
    const mpsChange =
      mps &&
      concreteChange(mps, {
        persistence: false,
        migMode: false,
        originalWatts: 0,
        memoryMHz: null,
        mpsFolder: `${store.mpsRoot}/${sessionName}`,
      });
    if (mpsChange && mpsChange.kind !== 'mpsDaemon') throw new Error('unreachable');
    // Each journal write is a round trip: the session comes in with its first step intended, and a step
    // done goes in with the next one intended.
    await save({
      ...current,
      sessions: [
        ...current.sessions,
        {
          name: sessionName,
          owner: request.owner,
          startedAt: at(),
          hostLabel: request.hostLabel,
          gpuIndex,
          plan: { ...sessionPlanOf(plan, uuid), device: uuid, clockLockMHz: null, powerCapW: null },
          steps: mpsChange ? [{ change: mpsChange, state: 'intended', at: at() }] : [],
        },
      ],
    });

    const env: Record<string, string> = {
      ...plan.container.env,
      ...Object.fromEntries(Object.entries(request.extraEnv ?? {}).filter(([name]) => name !== 'PATH')),
      CUDA_VISIBLE_DEVICES: uuid,
      GPUDEV_HOST_GPUS: uuid,
      GPUDEV_SESSION: sessionName,
    };
    delete env.GPUDEV_EXPECT_CLOCK_MHZ;
    delete env.GPUDEV_EXPECT_POWER_W;
    if (mps && mpsChange?.kind === 'mpsDaemon') {
      begin(mps.description);
      await host(['mkdir', '-p', '-m', '0700', '--', `${mpsChange.folder}/pipe`, `${mpsChange.folder}/log`]);
      if (request.jobStep) {
        launched(await request.jobStep(['nvidia-cuda-mps-control', '-f'], mpsEnv(mpsChange.folder)));
        await waitFor(runner, ['test', '-e', `${mpsChange.folder}/pipe/control`], 'the MPS daemon did not start');
      } else {
        const started = await runHostCommand(runner, makeCommand(mpsChange, uuid)!, false);
        if (!started.ok) throw new StepFailure(started.error);
      }
      Object.assign(env, mpsEnv(mpsChange.folder));
    }

    begin(`start the session's sshd on ${request.hostLabel}`);
    const folder = sessionFolder(store.dir, sessionName);
    await steps((s) => [
      ...s.map((step) => (step.state === 'intended' ? { ...step, state: 'done' as const, at: at() } : step)),
      { change: { kind: 'processSession', folder }, state: 'intended', at: at() },
    ]);
    const inJob = !!request.jobStep;
    const script = startScript({
      folder,
      env,
      authorizedKeys: request.authorizedKeys,
      shimTar: request.shimTar,
      inJob,
    });
    const started = await runner.run(['sh', '-s'], { stdin: script, timeoutMs: 60_000 });
    if (started.failure) throw new StepFailure(started.failure);
    let output = started.exitCode === 0 ? started.stdout : '';
    if (output && request.jobStep) {
      launched(await request.jobStep(sshdArgv(folder)));
      const waited = await runner.run(['sh', '-s'], { stdin: waitScript(folder), timeoutMs: 30_000 });
      output += waited.exitCode === 0 ? waited.stdout : '';
    }
    const sshd = output ? parseStarted(output) : started.stderr.trim() || `exit ${started.exitCode}`;
    if (typeof sshd === 'string') throw new StepFailure({ message: `the session sshd did not start: ${sshd}` });
    await steps((s) => [
      ...s.slice(0, -1),
      { change: { kind: 'processSession', folder, port: sshd.port, pid: sshd.pid }, state: 'done', at: at() },
    ]);
    if (request.jobStep) launched(await request.jobStep(keeperArgv(store.dir, uuid, sessionName)));
    return { ok: true, session: { name: sessionName, gpuUuid: uuid, folder, sshd, notApplied } };
  } catch (error) {
    const failure = error instanceof StepFailure ? error.error : { message: (error as Error).message };
    let restored = true;
    if (journal && current?.sessions.some((s) => s.name === sessionName)) {
      const { outcome } = await restoreSession(current, sessionName, { runner, journal });
      restored = !outcome.failure;
    }
    return { ok: false, error: failure, failedStep: step, restored };
  } finally {
    release?.();
  }
}

/** Stops a process session under its GPU's lock: the sshd and its connections, the MPS daemon, the folders, then its journal entry. */
export async function stopProcessSession(
  session: { readonly name: string; readonly gpuUuid: string },
  runner: Runner,
  owner: string,
): Promise<RestoreOutcome> {
  const journal = await HostJournal.open(runner, false);
  if ('message' in journal) return { undone: [], kept: [], failure: journal.message };
  const lock = await journal.lock(session.gpuUuid, `${owner} (stop ${session.name})`);
  if ('message' in lock) return { undone: [], kept: [], failure: lock.message };
  try {
    const read = await journal.read(session.gpuUuid);
    if ('message' in read) return { undone: [], kept: [], failure: read.message };
    if (!read.sessions.some((s) => s.name === session.name))
      return {
        undone: [],
        kept: [],
        failure: `the host journal no longer records ${session.name}: nothing to restore`,
      };
    return (await restoreSession(read, session.name, { runner, journal })).outcome;
  } finally {
    lock.release();
  }
}
