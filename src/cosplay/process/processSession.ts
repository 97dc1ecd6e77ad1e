// A process session: a cosplay that is a set of the user's own processes instead of a container (no
// Docker, no root needed): an MPS daemon on a private pipe folder when the plan uses MPS, the shim and
// the disguise in a session folder, and a session sshd serving that disguise. Journalled and locked
// like a container session; the steps that need root are applied with sudo only (recorded, with the
// rest of the session, in root's journal), else reported. The user's own processes and folders stay
// the user's either way: they are started, and undone, without sudo.
import type { GpuDevError } from '../../core/errors';
import type { RunResult, Runner } from '../../hosts/runner';
import { check, StepFailure, type GpuApply } from '../applyGpu';
import type { BusyProcess } from '../busyGpu';
import { GPU_UUID, makeCommand, mpsEnv } from '../changes';
import { runHostCommand } from '../hostCommands';
import { HostJournal, type JournalKind } from '../hostJournal';
import { sessionPlanOf } from '../journalTerms';
import type { CosplayPlan } from '../planner';
import { restoreSession, type RestoreOutcome } from '../restore';
import { notAppliedNote, processRefusal, rootOnlyMutations, rootSteps } from './rootSteps';
import { SessionRecord } from './sessionRecord';
import { parseStarted, sessionFolder, sshdArgv, startScript, waitScript, type StartedSshd } from './sessionFiles';

export { notAppliedNote, processRefusal } from './rootSteps';

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
  /**
   * The root-only steps with `sudo -n` (never a password prompt), the session then recorded in root's
   * journal as a container session with sudo is; without, each is reported as not applied.
   */
  readonly sudo?: boolean;
  /** Asked (with sudo) when other users' processes run on the GPU before its clocks, power or MIG mode change; no answer refuses. */
  readonly confirmBusy?: (processes: readonly BusyProcess[]) => Promise<boolean>;
  readonly onStep?: (step: string) => void;
}

export interface ProcessSession {
  readonly name: string;
  readonly gpuUuid: string;
  /** What the session's processes see (CUDA_VISIBLE_DEVICES): the GPU, or the MIG device made for it. */
  readonly device: string;
  readonly folder: string;
  readonly sshd: StartedSshd;
  /** The plan's steps left out without root, each with what it costs the disguise. */
  readonly notApplied: readonly string[];
  /** Where it is recorded: root's journal when applied with sudo. */
  readonly journal: JournalKind;
}

export type ProcessApplyOutcome =
  | { readonly ok: true; readonly session: ProcessSession }
  | { readonly ok: false; readonly error: GpuDevError; readonly failedStep: string; readonly restored: boolean };

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

export async function applyProcessSession(request: ProcessApplyRequest, runner: Runner): Promise<ProcessApplyOutcome> {
  const { plan, gpuIndex, sessionName } = request;
  const sudo = request.sudo === true;
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
  let store: HostJournal | undefined;
  let gpu: GpuApply | undefined;
  let record: SessionRecord | undefined;
  let release: (() => void) | undefined;
  try {
    const refused = processRefusal(plan, sudo);
    if (refused) throw new StepFailure(refused);
    begin(`read GPU ${gpuIndex}`);
    // The journal folders are opened (checked, made) while the GPU answers: each is a round trip of its own.
    const [smi, own, root] = await Promise.all([
      host(['nvidia-smi', '-i', String(gpuIndex), '--query-gpu=uuid', '--format=csv,noheader']).catch(
        (error: unknown) => error as Error,
      ),
      HostJournal.open(runner, false),
      sudo ? HostJournal.open(runner, true) : undefined,
    ]);
    if (smi instanceof Error) throw smi;
    const uuid = smi.trim().split('\n')[0]!.trim();
    if (!GPU_UUID.test(uuid))
      throw new StepFailure({ message: `GPU ${gpuIndex} reports no UUID (${uuid || 'nothing'})` });

    begin(`wait for GPU ${gpuIndex}'s lock on ${request.hostLabel}`);
    // The user's folders hold the session's processes; with sudo the session is recorded in root's
    // journal, under root's lock of the GPU, as a container session with sudo is.
    const user = check(own);
    const journal = root ? check(root) : user;
    store = journal;
    const lock = check(
      await journal.lock(uuid, `${request.owner} (apply ${sessionName})`, (heldBy) =>
        request.onStep?.(`waiting for GPU ${gpuIndex}: locked by ${heldBy}`),
      ),
    );
    release = () => lock.release();
    const mps = plan.mutations.find((m) => m.change.kind === 'mpsDaemon');
    const mpsChange = mps && ({ kind: 'mpsDaemon', folder: `${user.mpsRoot}/${sessionName}` } as const);
    let devices = [uuid];
    if (root) {
      gpu = rootSteps(
        { ...request, uuid, begin, ...(request.confirmBusy && { confirmBusy: request.confirmBusy }) },
        runner,
        journal,
      );
      await gpu.prepare();
      await gpu.make();
      devices = gpu.devices;
      record = new SessionRecord(journal, gpu.current!, sessionName);
      if (mpsChange) await record.next(mpsChange);
    } else {
      const read = check(await journal.read(uuid));
      record = new SessionRecord(journal, read, sessionName);
      // Each journal write is a round trip: the session comes in with its first step intended, and a
      // step done goes in with the next one intended.
      await record.save({
        ...read,
        sessions: [
          ...read.sessions,
          {
            name: sessionName,
            owner: request.owner,
            startedAt: new Date().toISOString(),
            hostLabel: request.hostLabel,
            gpuIndex,
            plan: { ...sessionPlanOf(plan, uuid), device: uuid, clockLockMHz: null, powerCapW: null },
            steps: mpsChange ? [{ change: mpsChange, state: 'intended', at: new Date().toISOString() }] : [],
          },
        ],
      });
    }
    const notApplied = root ? [] : rootOnlyMutations(plan).map((m) => notAppliedNote(m, plan));

    const env: Record<string, string> = {
      ...plan.container.env,
      ...Object.fromEntries(Object.entries(request.extraEnv ?? {}).filter(([name]) => name !== 'PATH')),
      CUDA_VISIBLE_DEVICES: devices.join(','),
      GPUDEV_HOST_GPUS: uuid,
      GPUDEV_SESSION: sessionName,
    };
    if (!root) {
      delete env.GPUDEV_EXPECT_CLOCK_MHZ;
      delete env.GPUDEV_EXPECT_POWER_W;
    }
    if (mps && mpsChange) {
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
    const folder = sessionFolder(user.dir, sessionName);
    await record.next({ kind: 'processSession', folder });
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
    await record.next({ kind: 'processSession', folder, port: sshd.port, pid: sshd.pid }, 'done');
    return {
      ok: true,
      session: {
        name: sessionName,
        gpuUuid: uuid,
        device: devices.join(','),
        folder,
        sshd,
        notApplied,
        journal: journal.kind,
      },
    };
  } catch (error) {
    const failure = error instanceof StepFailure ? error.error : { message: (error as Error).message };
    let restored = true;
    const recorded = record?.current ?? (gpu?.ownRecord ? gpu.current : undefined);
    if (store && recorded?.sessions.some((s) => s.name === sessionName)) {
      const { outcome } = await restoreSession(recorded, sessionName, { runner, journal: store });
      restored = !outcome.failure;
    }
    return { ok: false, error: failure, failedStep: step, restored };
  } finally {
    release?.();
  }
}

/** Stops a process session under its GPU's lock: the sshd and its connections, the MPS daemon, the folders, then its journal entry. */
export async function stopProcessSession(
  session: { readonly name: string; readonly gpuUuid: string; readonly journal?: JournalKind },
  runner: Runner,
  owner: string,
): Promise<RestoreOutcome> {
  const journal = await HostJournal.open(runner, session.journal === 'root');
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
