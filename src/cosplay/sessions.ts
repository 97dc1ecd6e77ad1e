// Sessions as the host journal records them, joined with their containers; stopping one; orphans
// (journal entries without a running container: a crash, a closed window, a restarted engine) and
// cleaning them up. Containers that claim a session the journal does not know are foreign: shown,
// never restored from.
import type { GpuDevError } from '../core/errors';
import type { ContainerInfo, DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import { inLockOrder } from './changes';
import type { HostJournal } from './hostJournal';
import { SHIM_DIR } from './hostProfile';
import { changesOf, expectationsOf, type GpuJournal, type JournalSession } from './journal';
import { aliveScript } from './process/sessionFiles';
import { restoreAcrossGpus, type RestoreOutcome } from './restore';
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
    const parts: Session[] = [];
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
        parts.push(sessionOf(journal, record, store.kind, container, { dockerAsked: !!containers, alive }));
      }
    }
    sessions.push(...joinGpus(parts));
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

/**
 * A session of several GPUs has a record in each GPU's journal: joined into one, led by the record
 * holding the container (else the first GPU its plan names), each change said with its GPU.
 */
function joinGpus(parts: readonly Session[]): Session[] {
  const byName = new Map<string, Session[]>();
  for (const part of parts) byName.set(part.name, [...(byName.get(part.name) ?? []), part]);
  return [...byName.values()].map((records) => {
    if (records.length === 1 && !records[0]!.plan.gpus) return records[0]!;
    const order = records[0]!.plan.gpus ?? [];
    const rank = (s: Session) => (order.includes(s.gpuUuid) ? order.indexOf(s.gpuUuid) : order.length);
    const sorted = [...records].sort((a, b) => rank(a) - rank(b));
    const lead = sorted.find((s) => s.containerId !== null) ?? sorted[0]!;
    const said = (s: Session, list: readonly string[] | undefined) =>
      (list ?? []).map((c) => `GPU ${s.gpuIndex}: ${c}`);
    const unrestored = sorted.flatMap((s) => (s.unrestored ? [`GPU ${s.gpuIndex}: ${s.unrestored}`] : []));
    return {
      ...lead,
      gpus: sorted.map((s) => ({ index: s.gpuIndex, uuid: s.gpuUuid })),
      plan: {
        ...lead.plan,
        device:
          sorted
            .map((s) => s.plan.device ?? '')
            .filter(Boolean)
            .join(',') || null,
      },
      changes: sorted.flatMap((s) => said(s, s.changes)),
      undoes: sorted.flatMap((s) => said(s, s.undoes)),
      ...(unrestored.length && { unrestored: unrestored.join('; ') }),
    };
  });
}

/** The GPUs a session changed, by UUID: one, or each of a multi-GPU session's. */
export function gpuUuidsOf(session: Pick<Session, 'gpuUuid' | 'gpus'>): string[] {
  return session.gpus?.map((g) => g.uuid) ?? [session.gpuUuid];
}

/** Whether a session runs on this GPU: by UUID (indices are only unique per host). */
export function sameGpu(session: Session, gpuIndex: number, gpuUuid: string | null): boolean {
  const gpus = session.gpus ?? [{ index: session.gpuIndex, uuid: session.gpuUuid }];
  return gpus.some((g) => (gpuUuid ? g.uuid === gpuUuid : g.index === gpuIndex));
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

/** Runs `work` on the GPUs' journals under their host locks, taken in UUID order (as apply takes them). */
export async function underLocks<T>(
  host: SessionHost,
  gpuUuids: readonly string[],
  action: string,
  work: (journals: GpuJournal[]) => Promise<T>,
): Promise<T | GpuDevError> {
  const locks: { release(): void }[] = [];
  try {
    for (const uuid of inLockOrder(gpuUuids)) {
      const lock = await host.journal.lock(uuid, `${host.owner} (${action})`, host.onWait);
      if ('message' in lock) return lock;
      locks.push(lock);
    }
    const journals: GpuJournal[] = [];
    for (const uuid of gpuUuids) {
      const journal = await host.journal.read(uuid);
      if ('message' in journal) return journal;
      journals.push(journal);
    }
    return await work(journals);
  } finally {
    locks.reverse().forEach((lock) => lock.release());
  }
}

/**
 * Stops a session: its container stopped, the host restored from the journal (GPU-wide settings kept
 * while another session on the GPU remains), then its journal entries and container removed. A failed
 * restore leaves it listed as "host not restored", to retry.
 */
export async function stopSession(
  session: Pick<Session, 'name' | 'gpuUuid' | 'gpus'>,
  host: SessionHost,
): Promise<RestoreOutcome> {
  const done = await underLocks(host, gpuUuidsOf(session), `stop ${session.name}`, async (all) => {
    const journals = all.filter((j) => j.sessions.some((s) => s.name === session.name));
    if (!journals.length)
      return {
        undone: [],
        kept: [],
        failure: `the host journal no longer records ${session.name}: nothing to restore`,
      };
    return (await restoreAcrossGpus(journals, session.name, host)).outcome;
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
    const done = await underLocks(host, gpuUuidsOf(orphan), `clean up ${orphan.name}`, async (all) => {
      const journals = all.filter((j) => j.sessions.some((s) => s.name === orphan.name));
      if (!journals.length) return 'gone';
      const records = journals.map((j) => j.sessions.find((s) => s.name === orphan.name)!);
      const ids = records.map(containerStep).filter((id) => id?.kind === 'container');
      if (ids.length) {
        const containers = await host.docker.list(LABEL.session);
        if (
          ids.some((id) => id?.kind === 'container' && containers.some((c) => c.id === id.id && c.state === 'running'))
        )
          return 'running';
      }
      if ((await aliveFolders(host.journal, records)).size) return 'running';
      return (await restoreAcrossGpus(journals, orphan.name, host)).outcome;
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
