// Sessions as the host journal records them, joined with their containers; stopping one; orphans
// (journal entries without a running container: a crash, a closed window, a restarted engine) and
// cleaning them up. Containers that claim a session the journal does not know are foreign: shown,
// never restored from.
import type { GpuDevError } from '../core/errors';
import type { ContainerInfo, DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import type { HostJournal } from './hostJournal';
import { SHIM_DIR } from './hostProfile';
import { changesOf, expectationsOf, type GpuJournal, type JournalSession } from './journal';
import { aliveScript } from './process/sessionFiles';
import { restoreSession, type RestoreOutcome } from './restore';
import { LABEL, labelsOf, type Session } from './session';

export interface ForeignContainer {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  /** Why it is not a session of ours, in a sentence. */
  readonly why: string;
  /** Its labels say it was applied with sudo (root's journal was not looked at). */
  readonly claimsRoot: boolean;
}

export interface Listing {
  readonly sessions: Session[];
  readonly foreign: ForeignContainer[];
  readonly problems: string[];
}

const containerStep = (session: JournalSession) => session.steps.find((s) => s.change.kind === 'container')?.change;
const processStep = (session: JournalSession) => {
  const change = session.steps.find((s) => s.change.kind === 'processSession' && s.state !== 'undone')?.change;
  return change?.kind === 'processSession' ? change : undefined;
};

/** The process sessions' folders whose sshd still runs, asked on the host in one command. */
async function aliveFolders(store: HostJournal, records: readonly JournalSession[]): Promise<Set<string>> {
  const folders = records.flatMap((r) => processStep(r)?.folder ?? []);
  if (!folders.length) return new Set();
  const done = await store.runner.run(['sh', '-s'], { stdin: aliveScript(folders) });
  return new Set(done.stdout.split('\n').filter((line) => folders.includes(line)));
}

function sessionOf(
  journal: GpuJournal,
  record: JournalSession,
  kind: 'root' | 'user',
  container: ContainerInfo | undefined,
  state: { dockerAsked: boolean; alive: ReadonlySet<string> },
): Session {
  const process = processStep(record);
  const running = process ? state.alive.has(process.folder) : container?.state === 'running';
  return {
    name: record.name,
    owner: record.owner,
    hostLabel: record.hostLabel,
    gpuIndex: record.gpuIndex,
    gpuUuid: journal.gpuUuid,
    createdMs: Date.parse(record.startedAt) || 0,
    plan: record.plan,
    containerId: container?.id ?? null,
    running,
    state: process
      ? running
        ? 'running'
        : 'gone'
      : (container?.state ?? (state.dockerAsked || !containerStep(record) ? 'gone' : 'unknown')),
    ...(process && { process: { folder: process.folder, port: running ? (process.port ?? null) : null } }),
    changes: changesOf(journal, record.name),
    undoes: changesOf(journal, record.name, true),
    ...(record.unrestored !== undefined && { unrestored: record.unrestored }),
    journal: kind,
  };
}

/** Every session the given journals record (one per journal kind), and the labelled containers none of them owns. */
export async function listSessions(docker: DockerEngine, journals: readonly HostJournal[]): Promise<Listing> {
  const problems: string[] = [];
  // A host without Docker still lists its process sessions; its container sessions are then `unknown`, never orphans.
  let dockerProblem: string | undefined;
  const containers = await docker.list(LABEL.session).catch((error: unknown) => {
    dockerProblem = `Docker could not be asked for containers: ${error instanceof Error ? error.message : String(error)}`;
    return undefined;
  });
  const sessions: Session[] = [];
  const owned = new Set<string>();
  for (const store of journals) {
    const { journals: files, problems: unreadable } = await store.list();
    problems.push(...unreadable);
    for (const journal of files) {
      const alive = await aliveFolders(store, journal.sessions);
      for (const record of journal.sessions) {
        const id = containerStep(record);
        const container = containers?.find(
          (c) =>
            id?.kind === 'container' &&
            c.id === id.id &&
            labelsOf(c)?.session === record.name &&
            labelsOf(c)?.gpuUuid === journal.gpuUuid &&
            labelsOf(c)?.journal === store.kind,
        );
        if (container) owned.add(container.id);
        sessions.push(sessionOf(journal, record, store.kind, container, { dockerAsked: !!containers, alive }));
      }
    }
  }
  if (dockerProblem && sessions.some((s) => s.state === 'unknown')) problems.push(dockerProblem);
  const looked = new Set(journals.map((j) => j.kind));
  const foreign = (containers ?? [])
    .filter((c) => !owned.has(c.id))
    .map((c): ForeignContainer => {
      const claim = labelsOf(c);
      const why = !claim
        ? 'its gpudev labels are not ours'
        : !looked.has(claim.journal)
          ? `it claims a session applied ${claim.journal === 'root' ? 'with' : 'without'} sudo: turn sudo ${claim.journal === 'root' ? 'on' : 'off'} for this host to see its journal`
          : `no host journal records it as session ${claim.session}`;
      return {
        id: c.id,
        name: c.name,
        state: c.state,
        why,
        claimsRoot: claim?.journal === 'root' && !looked.has('root'),
      };
    });
  sessions.sort((a, b) => a.gpuIndex - b.gpuIndex || a.createdMs - b.createdMs);
  return { sessions, foreign, problems };
}

/** Whether a session runs on this GPU: by UUID (indices are only unique per host). */
export function sameGpu(session: Session, gpuIndex: number, gpuUuid: string | null): boolean {
  return gpuUuid ? session.gpuUuid === gpuUuid : session.gpuIndex === gpuIndex;
}

export interface SessionHost {
  readonly runner: Runner;
  readonly docker: DockerEngine;
  /** The journal the session is recorded in (its kind says whether restores need sudo). */
  readonly journal: HostJournal;
  /** user@machine, for the lock's holder. */
  readonly owner: string;
  readonly onWait?: (heldBy: string) => void;
}

/** Runs `work` on the GPU's journal under its host lock. */
async function underLock<T>(
  host: SessionHost,
  gpuUuid: string,
  action: string,
  work: (journal: GpuJournal) => Promise<T>,
): Promise<T | GpuDevError> {
  const lock = await host.journal.lock(gpuUuid, `${host.owner} (${action})`, host.onWait);
  if ('message' in lock) return lock;
  try {
    const journal = await host.journal.read(gpuUuid);
    return 'message' in journal ? journal : await work(journal);
  } finally {
    lock.release();
  }
}

/**
 * Stops a session: its container stopped, the host restored from the journal (GPU-wide settings kept
 * while another session on the GPU remains), then its journal entries and container removed. A failed
 * restore leaves it listed as "host not restored", to retry.
 */
export async function stopSession(
  session: Pick<Session, 'name' | 'gpuUuid'>,
  host: SessionHost,
): Promise<RestoreOutcome> {
  const done = await underLock(host, session.gpuUuid, `stop ${session.name}`, async (journal) => {
    if (!journal.sessions.some((s) => s.name === session.name))
      return {
        undone: [],
        kept: [],
        failure: `the host journal no longer records ${session.name}: nothing to restore`,
      };
    return (await restoreSession(journal, session.name, host)).outcome;
  });
  return 'message' in done ? { undone: [], kept: [], failure: done.message } : done;
}

/** Sessions without a running container (or session sshd): their host changes are still in place. */
export function orphansOf(listing: Listing): Session[] {
  return listing.sessions.filter((s) => !s.running && s.state !== 'unknown');
}

/**
 * Restores every orphan. Each is looked at again under its GPU's lock: an apply that was still making
 * its container when the list was taken has a running container by then and is left alone.
 */
export async function cleanUpOrphans(
  orphans: readonly Session[],
  host: SessionHost,
): Promise<{ cleaned: string[]; failures: string[] }> {
  const cleaned: string[] = [];
  const failures: string[] = [];
  for (const orphan of orphans) {
    const done = await underLock(host, orphan.gpuUuid, `clean up ${orphan.name}`, async (journal) => {
      const record = journal.sessions.find((s) => s.name === orphan.name);
      if (!record) return 'gone';
      const id = containerStep(record);
      if (id?.kind === 'container') {
        const containers = await host.docker.list(LABEL.session);
        if (containers.some((c) => c.id === id.id && c.state === 'running')) return 'running';
      }
      if ((await aliveFolders(host.journal, [record])).size) return 'running';
      return (await restoreSession(journal, orphan.name, host)).outcome;
    });
    if (typeof done === 'string') continue;
    if ('message' in done) failures.push(`${orphan.name}: ${done.message}`);
    else if (done.failure) failures.push(`${orphan.name}: host not restored: ${done.failure}`);
    else cleaned.push(orphan.name);
  }
  return { cleaned, failures };
}

/**
 * Runs the shim's verify.py in a running session: its stdout. The clock and power it checks the GPU
 * against are what the host journal says is set now (another session's, or a calibrated clock).
 */
export async function verifyOutput(
  session: Session,
  docker: DockerEngine,
  journal: HostJournal | undefined,
): Promise<string> {
  if (!session.containerId) throw new Error(`${session.name} has no container`);
  const recorded = journal ? await journal.read(session.gpuUuid) : undefined;
  const env = recorded && !('message' in recorded) ? expectationsOf(recorded) : {};
  return (await docker.exec(session.containerId, ['python3', `${SHIM_DIR}/verify.py`, '--json'], env)).stdout;
}
