// Sessions as Docker reports them (labels are their only record), stopping one, and cleaning up after
// sessions whose container stopped without us (a reboot, `docker stop`, a crashed window).
import { DockerFailure, type DockerEngine } from '../hosts/docker';
import type { Runner } from '../hosts/runner';
import { runHostCommand } from './hostCommands';
import { LABEL, sessionOf, type Session } from './session';

export const MPS_ROOT = '/tmp/gpudev-mps';

export async function listSessions(docker: DockerEngine): Promise<{ sessions: Session[]; problems: string[] }> {
  const sessions: Session[] = [];
  const problems: string[] = [];
  for (const container of await docker.list(LABEL.session)) {
    const found = sessionOf(container);
    if (typeof found === 'string') problems.push(found);
    else sessions.push(found);
  }
  sessions.sort((a, b) => a.gpuIndex - b.gpuIndex || a.createdMs - b.createdMs);
  return { sessions, problems };
}

/** Whether a session runs on this GPU: by UUID (indices are only unique per host), else by index. */
export function sameGpu(session: Session, gpuIndex: number, gpuUuid: string | null): boolean {
  return session.plan.gpuUuid && gpuUuid ? session.plan.gpuUuid === gpuUuid : session.gpuIndex === gpuIndex;
}

export interface StopOutcome {
  /** Host settings left as they were, because another session on the GPU still runs with them. */
  readonly kept: readonly string[];
  readonly failures: readonly string[];
}

/**
 * Removes the container, then restores the host from the labels. GPU-wide settings stay while another
 * session on the same GPU runs (it carries the same restore steps and undoes them when it stops).
 */
export async function stopSession(session: Session, runner: Runner, docker: DockerEngine, sudo: boolean): Promise<StopOutcome> {
  const failures: string[] = [];
  const kept: string[] = [];
  try {
    await docker.remove(session.containerId);
  } catch (error) {
    return { kept, failures: [`remove the container: ${error instanceof DockerFailure ? error.failure.message : (error as Error).message}`] };
  }
  const { sessions } = await listSessions(docker);
  const shared = sessions.some((s) => s.running && s.name !== session.name && sameGpu(s, session.gpuIndex, session.plan.gpuUuid));
  for (const step of session.restore) {
    if (step.gpuWide && shared) {
      kept.push(step.description);
      continue;
    }
    for (const command of step.commands) {
      const done = await runHostCommand(runner, command, sudo);
      if (!done.ok) {
        failures.push(`${step.description}: ${done.error.message}`);
        break;
      }
    }
  }
  return { kept, failures };
}

export interface Orphans {
  /** Labelled containers that no longer run: their host changes are still in place. */
  readonly sessions: readonly Session[];
  /** MPS daemons' folders no session owns. */
  readonly mpsFolders: readonly string[];
  readonly problems: readonly string[];
}

export async function findOrphans(docker: DockerEngine, runner: Runner): Promise<Orphans> {
  const { sessions, problems } = await listSessions(docker);
  const listing = await runner.run(['ls', '-1', MPS_ROOT]);
  const known = new Set(sessions.map((s) => s.name));
  const mpsFolders = listing.exitCode === 0 ? listing.stdout.split('\n').map((l) => l.trim()).filter((name) => name && !known.has(name)) : [];
  return { sessions: sessions.filter((s) => !s.running), mpsFolders, problems };
}

/** Restores what every orphan changed; returns what could not be undone, in sentences. */
export async function cleanUpOrphans(orphans: Orphans, runner: Runner, docker: DockerEngine, sudo: boolean): Promise<string[]> {
  const failures: string[] = [];
  for (const session of orphans.sessions) {
    const outcome = await stopSession(session, runner, docker, sudo);
    failures.push(...outcome.failures.map((f) => `${session.name}: ${f}`));
  }
  for (const name of orphans.mpsFolders) {
    const pipe = `${MPS_ROOT}/${name}/pipe`;
    // The daemon may be gone already (the folder alone was left): only the removal must succeed.
    await runHostCommand(runner, { argv: ['nvidia-cuda-mps-control'], stdin: 'quit\n', env: { CUDA_MPS_PIPE_DIRECTORY: pipe, CUDA_MPS_LOG_DIRECTORY: `${MPS_ROOT}/${name}/log` } }, sudo);
    const removed = await runHostCommand(runner, { argv: ['rm', '-rf', `${MPS_ROOT}/${name}`] }, sudo);
    if (!removed.ok) failures.push(`${MPS_ROOT}/${name}: ${removed.error.message}`);
  }
  return failures;
}
