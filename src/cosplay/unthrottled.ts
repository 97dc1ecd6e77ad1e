// The un-throttled bench run that measures the host's efficiency: under the GPU's host lock, with no
// other session on the GPU, the session's clock lock and power cap are lifted for one bench run and
// put back as the journal records them. The MIG slice or MPS share stays: the efficiency is of the
// share the session has, against the host's modelled peak for that share.
import type { GpuDevError } from '../core/errors';
import { DockerFailure } from '../hosts/docker';
import { parseBenchOutput, type BenchOutput } from './benchReport';
import { argv } from './changes';
import { efficiencyRecord, type EfficiencyRecord, type EfficiencyStore, type Versions } from './efficiency';
import { runHostCommand } from './hostCommands';
import { SHIM_DIR } from './hostProfile';
import type { GpuJournal } from './journal';
import type { Session } from './session';
import { gpuUuidsOf, underLocks, type SessionHost } from './sessions';

/** The metrics the efficiency run measures (all-reduce has no modelled peak). */
const UNTHROTTLED_METRICS = 'fp32,tf32,fp16,bf16,bandwidth';

export async function runBench(
  host: SessionHost,
  containerId: string,
  args: readonly string[],
): Promise<BenchOutput | GpuDevError> {
  try {
    const result = await host.docker.exec(containerId, ['python3', `${SHIM_DIR}/bench.py`, '--json', ...args]);
    const parsed = parseBenchOutput(result.stdout);
    return parsed.ok ? parsed.output : { message: parsed.error };
  } catch (error) {
    return error instanceof DockerFailure ? error.failure : { message: String(error) };
  }
}

/** The torch, CUDA and driver versions in the session's container: the efficiency's key with the host model. */
export async function benchVersions(host: SessionHost, containerId: string): Promise<Versions | GpuDevError> {
  const output = await runBench(host, containerId, ['--only', 'versions']);
  return 'results' in output ? (output.versions ?? {}) : output;
}

export const isError = <T extends object>(value: T | GpuDevError): value is GpuDevError =>
  'message' in value && !('results' in value);

/** Locks a GPU clock (null: resets it) or sets its power limit, as the journal's argv do. */
export function gpuControls(host: SessionHost, uuid: string) {
  const run = (command: readonly string[]) => runHostCommand(host.runner, { argv: command }, host.journal.sudo);
  return {
    setClock: (mhz: number | null) => run(mhz === null ? argv.resetClocks(uuid) : argv.lockClocks(uuid, String(mhz))),
    setPower: (watts: number) => run(argv.powerLimit(uuid, String(watts))),
  };
}

/**
 * Runs `work` with the journals of the session's GPUs (its first GPU first) under their host locks,
 * refusing when another session shares one of them (GPU-wide clocks and power would change for it
 * too) or a journal no longer has the session.
 */
export async function withGpuToOneself<T>(
  session: Session,
  host: SessionHost,
  purpose: string,
  work: (journals: [GpuJournal, ...GpuJournal[]]) => Promise<T | GpuDevError>,
): Promise<T | GpuDevError> {
  const uuids = [...new Set(gpuUuidsOf(session))];
  return underLocks(host, uuids, `${purpose} ${session.name}`, async (journals) => {
    for (const journal of journals) {
      const other = journal.sessions.find((s) => s.name !== session.name);
      if (other)
        return {
          message: `session "${other.name}" (${other.owner}) shares this GPU: its clocks would change too`,
          hint: `stop it first, or ${purpose} that one`,
        };
      if (!journal.sessions.some((s) => s.name === session.name))
        return { message: `the host journal no longer records ${session.name}` };
    }
    return work(journals as [GpuJournal, ...GpuJournal[]]);
  });
}

/** Set when the run's clock lock or power cap could not be put back: the session is not as applied. */
export type UnthrottledError = GpuDevError & { readonly unrestored?: true };

/**
 * One bench run with the clock lock and power cap lifted, then both put back; the efficiency it
 * gives is saved in `store`. The caller holds the host lock with the GPU to itself.
 */
export async function measureUnthrottled(
  session: Session,
  host: SessionHost,
  journal: GpuJournal,
  store: EfficiencyStore,
): Promise<EfficiencyRecord | UnthrottledError> {
  if (!session.containerId) return { message: `${session.name} has no container` };
  const active = journal.gpuWide.filter((s) => s.state !== 'undone').map((s) => s.change);
  const clock = active.find((c) => c.kind === 'clockLock');
  const power = active.find((c) => c.kind === 'powerCap');
  const { setClock, setPower } = gpuControls(host, session.gpuUuid);
  const lifted = await setClock(null);
  if (!lifted.ok) return lifted.error;
  if (power?.kind === 'powerCap') {
    const raised = await setPower(power.originalWatts);
    if (!raised.ok) {
      await setClock(clock?.kind === 'clockLock' ? clock.mhz : null);
      return raised.error;
    }
  }
  const output = await runBench(host, session.containerId, ['--only', UNTHROTTLED_METRICS]);
  const powerBack = power?.kind === 'powerCap' ? await setPower(power.watts) : undefined;
  const clockBack = await setClock(clock?.kind === 'clockLock' ? clock.mhz : null);
  for (const back of [powerBack, clockBack])
    if (back && !back.ok)
      return {
        message: `the session's clock lock or power cap could not be put back: ${back.error.message}`,
        unrestored: true,
      };
  if (isError(output)) return output;
  const record = efficiencyRecord(output, session.plan, session.name, new Date());
  if (typeof record === 'string') return { message: record };
  await store.save(record);
  return record;
}

/** Benchmark's path to an efficiency: the stored one for the container's versions, or one measured now. */
export async function efficiencyFor(
  session: Session,
  host: SessionHost,
  store: EfficiencyStore,
  versions: Versions,
): Promise<EfficiencyRecord | GpuDevError> {
  const stored = await store.find(session.plan.host, versions);
  if (stored) return stored;
  return withGpuToOneself(session, host, 'measure efficiency for', ([journal]) =>
    measureUnthrottled(session, host, journal, store),
  );
}
