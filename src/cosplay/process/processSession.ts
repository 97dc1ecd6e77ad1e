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
import { GPU_UUID, inLockOrder } from '../changes';
import { runHostCommand } from '../hostCommands';
import { HostJournal, type GpuLock, type JournalKind } from '../hostJournal';
import { sessionPlanOf } from '../journalTerms';
import type { PlannedGpu } from '../multiPlan';
import type { CosplayPlan } from '../planner';
import type { GpuJournal } from '../journal';
import { restoreAcrossGpus, type RestoreOutcome } from '../restore';
import { notAppliedNote, processRefusal, rootOnlyMutations, rootSteps } from './rootSteps';
import { keeperArgv } from './jobKeeper';
import { sessionFolder, type StartedSshd } from './sessionFiles';
import { startUserSide } from './sessionStart';
import { SessionRecord } from './sessionRecord';

export { notAppliedNote, processRefusal } from './rootSteps';

export interface ProcessApplyRequest {
  /** The plan of a one-GPU session (of the first GPU when `gpus` is given: its target and variables). */
  readonly plan: CosplayPlan;
  readonly gpuIndex: number;
  /** A session of several GPUs: every host GPU with its plan (planMultiCosplay), the first the lead. */
  readonly gpus?: readonly PlannedGpu[];
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
  /** The lead GPU's (the first); a session of several has each in `gpus`, in the session's order. */
  readonly gpuUuid: string;
  readonly gpus?: readonly { readonly index: number; readonly uuid: string }[];
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

export async function applyProcessSession(request: ProcessApplyRequest, runner: Runner): Promise<ProcessApplyOutcome> {
  const { plan, sessionName } = request;
  const sudo = request.sudo === true;
  const planned = request.gpus ?? [{ gpuIndex: request.gpuIndex, plan, slices: 1 }];
  const several = planned.length > 1;
  let step = 'check the plan';
  const begin = (description: string) => {
    step = description;
    request.onStep?.(description);
  };
  let store: HostJournal | undefined;
  const gpus: GpuApply[] = [];
  /** Each GPU's journal as last written (without sudo): what a rollback restores from. */
  const written: SessionRecord[] = [];
  let lead: SessionRecord | undefined;
  const locks: GpuLock[] = [];
  try {
    const refused = processRefusal(plan, sudo, request.gpus);
    if (refused) throw new StepFailure(refused);
    const indices = planned.map((g) => g.gpuIndex);
    begin(`read GPU${several ? 's' : ''} ${indices.join(', ')}`);
    // The journal folders are opened (checked, made) while the GPUs answer: each is a round trip of its own.
    const [uuids, own, root] = await Promise.all([
      Promise.all(indices.map((index) => gpuUuid(runner, index))),
      HostJournal.open(runner, false),
      sudo ? HostJournal.open(runner, true) : undefined,
    ]);
    if (new Set(uuids).size !== uuids.length) throw new StepFailure({ message: 'a GPU is given twice' });
    // The user's folders hold the session's processes; with sudo the session is recorded in root's
    // journal, under root's locks of the GPUs, as a container session with sudo is.
    const user = check(own);
    const journal = root ? check(root) : user;
    store = journal;
    for (const uuid of inLockOrder(uuids)) {
      const index = indices[uuids.indexOf(uuid)]!;
      begin(`wait for GPU ${index}'s lock on ${request.hostLabel}`);
      locks.push(
        check(
          await journal.lock(uuid, `${request.owner} (apply ${sessionName})`, (heldBy) =>
            request.onStep?.(`waiting for GPU ${index}: locked by ${heldBy}`),
          ),
        ),
      );
    }
    const mutation = plan.mutations.find((m) => m.change.kind === 'mpsDaemon');
    // One MPS daemon serves every GPU of the session (a client has one pipe folder): the lead GPU's record holds it.
    const mps = mutation && { mutation, folder: `${user.mpsRoot}/${sessionName}` };
    const mpsStep = mps && ({ kind: 'mpsDaemon', folder: mps.folder } as const);
    const sessionGpus = several ? uuids : undefined;
    let devices: string[] = uuids;
    if (root) {
      planned.forEach((g, i) => {
        const uuid = uuids[i]!;
        gpus.push(rootSteps({ ...request, ...g, uuid, ...(sessionGpus && { sessionGpus }), begin }, runner, journal));
      });
      // Every GPU is checked before any changes, so a clash on the last leaves the first untouched.
      for (const gpu of gpus) await gpu.prepare();
      for (const gpu of gpus) await gpu.make();
      devices = gpus.flatMap((g) => g.devices);
      lead = new SessionRecord(journal, gpus[0]!.current!, sessionName);
      if (mpsStep) await lead.next(mpsStep);
    } else
      for (const [i, g] of planned.entries()) {
        const uuid = uuids[i]!;
        const record = new SessionRecord(journal, check(await journal.read(uuid)), sessionName);
        written.push(record);
        // Each journal write is a round trip: the session comes in with its first step intended, and a
        // step done goes in with the next one intended.
        await record.create({
          owner: request.owner,
          hostLabel: request.hostLabel,
          gpuIndex: g.gpuIndex,
          plan: {
            ...sessionPlanOf(g.plan, uuid),
            device: uuid,
            clockLockMHz: null,
            powerCapW: null,
            ...(sessionGpus && { gpus: [...sessionGpus] }),
          },
          steps: i === 0 && mpsStep ? [{ change: mpsStep, state: 'intended', at: new Date().toISOString() }] : [],
        });
      }
    lead ??= written[0]!;
    const notApplied = root ? [] : rootOnlyMutations(plan).map((m) => notAppliedNote(m, plan));
    const env: Record<string, string> = {
      ...plan.container.env,
      ...Object.fromEntries(Object.entries(request.extraEnv ?? {}).filter(([name]) => name !== 'PATH')),
      CUDA_VISIBLE_DEVICES: devices.join(','),
      GPUDEV_HOST_GPUS: uuids.join(','),
      GPUDEV_SESSION: sessionName,
    };
    if (!root) {
      delete env.GPUDEV_EXPECT_CLOCK_MHZ;
      delete env.GPUDEV_EXPECT_POWER_W;
    }
    const folder = sessionFolder(user.dir, sessionName);
    const sshd = await startUserSide(
      {
        ...(mps && { mps }),
        folder,
        env,
        authorizedKeys: request.authorizedKeys,
        shimTar: request.shimTar,
        lockedGpu: uuids[0]!,
        hostLabel: request.hostLabel,
        ...(request.jobStep && {
          jobStep: request.jobStep,
          keeper: keeperArgv(user.dir, uuids[0]!, sessionName),
        }),
        begin,
      },
      lead,
      runner,
    );
    return {
      ok: true,
      session: {
        name: sessionName,
        gpuUuid: uuids[0]!,
        ...(several && { gpus: planned.map((g, i) => ({ index: g.gpuIndex, uuid: uuids[i]! })) }),
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
    // The lead GPU's journal as its record last wrote it; every other GPU's as its steps did.
    const recorded = [
      ...(lead ? [lead.current] : []),
      ...written.filter((r) => r !== lead).map((r) => r.current),
      ...gpus.filter((g, i) => (i > 0 || !lead) && g.ownRecord).map((g) => g.current!),
    ].filter((j) => j.sessions.some((s) => s.name === sessionName));
    if (store && recorded.length) {
      const { outcome } = await restoreAcrossGpus(recorded, sessionName, { runner, journal: store });
      restored = !outcome.failure;
    }
    return { ok: false, error: failure, failedStep: step, restored };
  } finally {
    locks.reverse().forEach((lock) => lock.release());
  }
}

/** The GPU's UUID, as nvidia-smi reports it for its index. */
async function gpuUuid(runner: Runner, index: number): Promise<string> {
  const done = await runHostCommand(
    runner,
    { argv: ['nvidia-smi', '-i', String(index), '--query-gpu=uuid', '--format=csv,noheader'] },
    false,
  );
  if (!done.ok) throw new StepFailure(done.error);
  const uuid = done.stdout.trim().split('\n')[0]!.trim();
  if (!GPU_UUID.test(uuid)) throw new StepFailure({ message: `GPU ${index} reports no UUID (${uuid || 'nothing'})` });
  return uuid;
}

/**
 * Stops a process session under its GPUs' locks (in UUID order): the sshd and its connections, the MPS
 * daemon, the folders, the root-only steps, then its journal entries.
 */
export async function stopProcessSession(
  session: {
    readonly name: string;
    readonly gpuUuid: string;
    readonly gpus?: readonly { readonly uuid: string }[];
    readonly journal?: JournalKind;
  },
  runner: Runner,
  owner: string,
): Promise<RestoreOutcome> {
  const journal = await HostJournal.open(runner, session.journal === 'root');
  if ('message' in journal) return { undone: [], kept: [], failure: journal.message };
  const uuids = session.gpus?.map((g) => g.uuid) ?? [session.gpuUuid];
  const locks: GpuLock[] = [];
  try {
    for (const uuid of inLockOrder(uuids)) {
      const lock = await journal.lock(uuid, `${owner} (stop ${session.name})`);
      if ('message' in lock) return { undone: [], kept: [], failure: lock.message };
      locks.push(lock);
    }
    const journals: GpuJournal[] = [];
    for (const uuid of uuids) {
      const read = await journal.read(uuid);
      if ('message' in read) return { undone: [], kept: [], failure: read.message };
      if (read.sessions.some((s) => s.name === session.name)) journals.push(read);
    }
    if (!journals.length)
      return {
        undone: [],
        kept: [],
        failure: `the host journal no longer records ${session.name}: nothing to restore`,
      };
    return (await restoreAcrossGpus(journals, session.name, { runner, journal })).outcome;
  } finally {
    locks.reverse().forEach((lock) => lock.release());
  }
}
