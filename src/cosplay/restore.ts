// Undoing what the journal says a session changed, in reverse, each undo recorded as it succeeds. A
// change left "intended" (a crash between journal and host) is checked on the GPU before it is undone.
import type { GpuDevError } from '../core/errors';
import { DockerFailure, type DockerEngine } from '../hosts/docker';
import { parseMigInstances } from '../hosts/nvidiaSmi/migInstances';
import type { Runner } from '../hosts/runner';
import { argv, describeChange, mpsFolderOk, undoCommands, type Change } from './changes';
import { runHostCommand } from './hostCommands';
import { HostJournal } from './hostJournal';
import { sessionFolderOk, stopScript } from './process/sessionFiles';
import type { GpuJournal, Step } from './journal';

export interface RestoreContext {
  readonly runner: Runner;
  /** Absent for process sessions, which have no container. */
  readonly docker?: DockerEngine;
  readonly journal: HostJournal;
}

type Undone = { ok: true } | { ok: false; error: GpuDevError };

async function host(context: RestoreContext, args: readonly string[]): Promise<string | GpuDevError> {
  const done = await runHostCommand(context.runner, { argv: args }, context.journal.sudo);
  return done.ok ? done.stdout : done.error;
}

/** The GPU instance the journal names, if it is still there with the placement we made it at. */
async function ourInstance(
  change: Extract<Change, { kind: 'gpuInstance' }>,
  gpuUuid: string,
  claimed: readonly number[],
  context: RestoreContext,
): Promise<number | null | GpuDevError> {
  const listing = await context.runner.run([
    ...(context.journal.sudo ? ['sudo', '-n'] : []),
    'nvidia-smi',
    'mig',
    '-i',
    gpuUuid,
    '-lgi',
  ]);
  if (listing.failure) return listing.failure;
  const { instances } = parseMigInstances(listing.stdout);
  const found = instances.find(
    (i) =>
      i.profileId === change.profileId &&
      i.start === change.start &&
      (change.gi === undefined ? !claimed.includes(i.instanceId) : i.instanceId === change.gi),
  );
  return found ? found.instanceId : null;
}

/** Undoes one change; a change that is not (or no longer) there is already undone. */
async function undo(step: Step, journal: GpuJournal, context: RestoreContext): Promise<Undone> {
  const { change } = step;
  const uuid = journal.gpuUuid;
  const failed = (error: GpuDevError): Undone => ({ ok: false, error });
  if (change.kind === 'container') {
    if (!context.docker) return failed({ message: `no Docker to remove container ${change.name} with` });
    try {
      await context.docker.remove(change.id ?? change.name);
      return { ok: true };
    } catch (error) {
      return failed(error instanceof DockerFailure ? error.failure : { message: String(error) });
    }
  }
  if (change.kind === 'migMode' && step.state === 'intended') {
    const mode = await host(context, [
      'nvidia-smi',
      '-i',
      uuid,
      '--query-gpu=mig.mode.current',
      '--format=csv,noheader',
    ]);
    if (typeof mode !== 'string') return failed(mode);
    if ((mode.trim() === 'Enabled') === change.originalEnabled) return { ok: true };
  }
  if (change.kind === 'gpuInstance') {
    const claimed = journal.sessions
      .flatMap((s) => s.steps)
      .map((s) => s.change)
      .flatMap((c) => (c.kind === 'gpuInstance' && c.gi !== undefined ? [c.gi] : []));
    const gi = await ourInstance(change, uuid, claimed, context);
    if (gi === null) return { ok: true };
    if (typeof gi !== 'number') return failed(gi);
    return runAll(
      context,
      [{ argv: argv.destroyComputeInstances(uuid, String(gi)) }, { argv: argv.destroyGpuInstance(uuid, String(gi)) }],
      /No compute instance|Not Found/i,
    );
  }
  if (change.kind === 'mpsDaemon') {
    const owner = await folderOwner(context, (j) => mpsFolderOk(change.folder, j.mpsRoot));
    if (!owner)
      return failed({ message: `the MPS folder ${change.folder} is not under ${context.journal.mpsRoot}: left alone` });
    const [quit, remove] = undoCommands(change, uuid);
    await runHostCommand(context.runner, quit!, owner.sudo); // the daemon may be gone already: only the removal must succeed
    return runAll(context, [remove!], undefined, owner.sudo);
  }
  if (change.kind === 'processSession') {
    if (!(await folderOwner(context, (j) => sessionFolderOk(change.folder, j.dir))))
      return failed({
        message: `the session folder ${change.folder} is not under ${context.journal.dir}/sessions: left alone`,
      });
    const stopped = await context.runner.run(['sh', '-s'], { stdin: stopScript(change.folder) });
    if (stopped.failure) return failed(stopped.failure);
    return stopped.exitCode === 0
      ? { ok: true }
      : failed({ message: `could not stop the session: ${stopped.stderr.trim() || `exit ${stopped.exitCode}`}` });
  }
  return runAll(context, undoCommands(change, uuid));
}

/**
 * The journal whose folders hold a process session's MPS daemon or session folder: the restoring one,
 * or — for a session applied with sudo, recorded in root's journal — the user's own, whose processes
 * and folders are undone without sudo. Undefined when neither holds it.
 */
async function folderOwner(context: RestoreContext, holds: (journal: HostJournal) => boolean) {
  if (holds(context.journal)) return context.journal;
  if (!context.journal.sudo) return undefined;
  let opened = userJournals.get(context);
  if (!opened) userJournals.set(context, (opened = HostJournal.open(context.runner, false)));
  const user = await opened;
  return 'message' in user || !holds(user) ? undefined : user;
}
const userJournals = new WeakMap<RestoreContext, Promise<HostJournal | GpuDevError>>();

async function runAll(
  context: RestoreContext,
  commands: readonly { argv: readonly string[]; stdin?: string; env?: Readonly<Record<string, string>> }[],
  alreadyGone?: RegExp,
  sudo = context.journal.sudo,
): Promise<Undone> {
  for (const command of commands) {
    const done = await runHostCommand(context.runner, command, sudo);
    if (!done.ok && !(alreadyGone && alreadyGone.test(done.error.message))) return { ok: false, error: done.error };
  }
  return { ok: true };
}

export interface RestoreOutcome {
  /** What was undone, in the user's words. */
  readonly undone: readonly string[];
  /** GPU-wide settings left in place for the other sessions on the GPU. */
  readonly kept: readonly string[];
  /** The step that could not be undone and why; the session then stays in the journal, marked. */
  readonly failure?: string;
}

/**
 * Restores what `name` changed on its GPU (the caller holds the GPU's lock): its container stopped
 * first, then its own changes in reverse, then — when it is the GPU's last session — the GPU-wide
 * ones. Only when all of that succeeded are its journal entries removed, and then its container.
 */
export async function restoreSession(
  journal: GpuJournal,
  name: string,
  context: RestoreContext,
): Promise<{ journal: GpuJournal; outcome: RestoreOutcome }> {
  let current = journal;
  const session = current.sessions.find((s) => s.name === name);
  if (!session) return { journal, outcome: { undone: [], kept: [] } };
  const undone: string[] = [];
  const save = async (next: GpuJournal) => {
    current = next;
    return context.journal.write(next);
  };
  const container = session.steps.find((s) => s.change.kind === 'container' && s.state !== 'undone');
  if (container?.change.kind === 'container')
    await context.docker?.stop(container.change.id ?? container.change.name).catch(() => undefined);

  const last = current.sessions.length === 1;
  const own = session.steps
    .map((step, index) => ({ step, index }))
    .filter(({ step }) => step.state !== 'undone' && step.change.kind !== 'container')
    .reverse();
  const shared = last
    ? current.gpuWide
        .map((step, index) => ({ step, index }))
        .filter(({ step }) => step.state !== 'undone')
        .reverse()
    : [];
  const kept = last ? [] : current.gpuWide.filter((s) => s.state !== 'undone').map((s) => describeChange(s.change));
  const fail = async (step: Step, error: GpuDevError) => {
    const failure = `${describeChange(step.change, true)}: ${error.message}`;
    await save({
      ...current,
      sessions: current.sessions.map((s) => (s.name === name ? { ...s, unrestored: failure } : s)),
    });
    return { journal: current, outcome: { undone, kept, failure } };
  };
  const at = () => new Date().toISOString();
  for (const { step, index } of own) {
    const done = await undo(step, current, context);
    if (!done.ok) return fail(step, done.error);
    undone.push(describeChange(step.change, true));
    const written = await save({
      ...current,
      sessions: current.sessions.map((s) =>
        s.name === name
          ? { ...s, steps: s.steps.map((t, i) => (i === index ? { ...t, state: 'undone' as const, at: at() } : t)) }
          : s,
      ),
    });
    if (written) return fail(step, written);
  }
  for (const { step, index } of shared) {
    const done = await undo(step, current, context);
    if (!done.ok) return fail(step, done.error);
    undone.push(describeChange(step.change, true));
    const written = await save({
      ...current,
      gpuWide: current.gpuWide.map((t, i) => (i === index ? { ...t, state: 'undone' as const, at: at() } : t)),
    });
    if (written) return fail(step, written);
  }
  const removed = await save({
    ...current,
    sessions: current.sessions.filter((s) => s.name !== name),
    gpuWide: last ? [] : current.gpuWide,
  });
  if (removed)
    return { journal: current, outcome: { undone, kept, failure: `remove its journal entries: ${removed.message}` } };
  if (container) {
    const gone = await undo(container, current, context);
    if (!gone.ok)
      return {
        journal: current,
        outcome: {
          undone,
          kept,
          failure: `remove the container: ${gone.error.message} (remove it by hand: docker rm -f ${name})`,
        },
      };
    undone.push(describeChange(container.change, true));
  }
  return { journal: current, outcome: { undone, kept } };
}

/**
 * Restores a session on every GPU it changed (the caller holds all their locks): its container stopped
 * first, then each GPU without the container, then the one whose journal holds it (which removes it).
 * When a GPU cannot be restored the container's GPU is left as it is, so the session stays listed to retry.
 */
export async function restoreAcrossGpus(
  journals: readonly GpuJournal[],
  name: string,
  context: RestoreContext,
): Promise<{ journals: GpuJournal[]; outcome: RestoreOutcome }> {
  if (journals.length === 1) {
    const { journal, outcome } = await restoreSession(journals[0]!, name, context);
    return { journals: [journal], outcome };
  }
  const container = (journal: GpuJournal) =>
    journal.sessions
      .find((s) => s.name === name)
      ?.steps.find((s) => s.change.kind === 'container' && s.state !== 'undone')?.change;
  const holder = journals.find((j) => container(j) !== undefined);
  const held = holder && container(holder);
  if (held?.kind === 'container') await context.docker?.stop(held.id ?? held.name).catch(() => undefined);
  const undone: string[] = [];
  const kept: string[] = [];
  const failures: string[] = [];
  const restored: GpuJournal[] = [];
  for (const journal of [...journals.filter((j) => j !== holder), ...(holder ? [holder] : [])]) {
    if (journal === holder && failures.length) {
      restored.push(journal);
      continue;
    }
    const gpu = `GPU ${journal.sessions.find((s) => s.name === name)?.gpuIndex ?? journal.gpuUuid}`;
    const { journal: after, outcome } = await restoreSession(journal, name, context);
    restored.push(after);
    undone.push(...outcome.undone.map((u) => `${gpu}: ${u}`));
    kept.push(...outcome.kept.map((k) => `${gpu}: ${k}`));
    if (outcome.failure) failures.push(`${gpu}: ${outcome.failure}`);
  }
  return { journals: restored, outcome: { undone, kept, ...(failures.length && { failure: failures.join('; ') }) } };
}
