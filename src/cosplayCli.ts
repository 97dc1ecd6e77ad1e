// `gpudev cosplay up|list|verify|calibrate|down|orphans|cleanup`: the extension's apply, sessions and
// verify, on the command line, over the same host journal and lock.
import * as readline from 'node:readline/promises';
import { parseArgs } from './core/cliArgs';
import { describeError } from './core/errors';
import { alignColumns } from './core/textTable';
import { aimText, calibrateSession } from './cosplay/calibrate';
import { localOwner, openJournals } from './cosplay/hostJournal';
import { sessionAge, type Session } from './cosplay/session';
import {
  cleanUpOrphans,
  listSessions,
  orphansOf,
  stopSession,
  verifyOutput,
  type Listing,
  type SessionHost,
} from './cosplay/sessions';
import { parseVerifyReport, shown, verifySummary } from './cosplay/verifyReport';
import { claimsRootJournal, jobGpu, reservationHost, sessionEntryFiles, sshConfig } from './cosplayProcess';
import { up, type CliHost, type Io } from './cosplayUp';
import { connectDocker, DockerFailure, localDockerSocket, sshDockerTarget } from './hosts/docker';
import { parseHostSpec } from './hosts/sshConfig';
import { removeSessionEntry, sessionAlias } from './remote/sessionHostEntry';
import { createSshRunner } from './hosts/sshHosts';
import { LocalRunner, LOCAL_HOST, type Runner } from './hosts/runner';
import { readWorkspaceConfig } from './workspace/readConfig';

export const COSPLAY_USAGE = `  gpudev cosplay up [<target>] [--gpu N[,M…]] [--num N] [--strategy mig|mps|memory] [--image I] [--sudo] [--force] [--host H]
                            [--no-docker]
                            apply a cosplay: host settings (journalled on the host first), then a container
                            with the shim; --force goes on when other users' processes run on the GPU;
                            --num N: N target GPUs in one container (GPUs --gpu, --gpu+1, …; or list them
                            with --gpu 0,1 — an index twice: two MIG slices of that GPU);
                            --no-docker: a process session (the user's own MPS daemon and sshd, no root;
                            with --sudo its clock, power and MIG steps are made as root too);
                            without <target>: .gpudev.yaml's gpu.target in the working folder
  gpudev cosplay up [<target>] --reservation <job> --login L
                            a process session inside a running reservation: its MPS daemon and sshd are
                            steps of the job and end with it (list/down/ssh-config take the same options)
  gpudev cosplay ssh-config <session> [--host H]
                            a process session's Host entry in ~/.ssh/gpudev/config: prints its alias
  gpudev cosplay list [--host H] [--sudo] [--json]   the sessions, from the host's journal
  gpudev cosplay verify <session> [--host H] run the shim's checks in a session
  gpudev cosplay calibrate <session> [--host H]
                            bisect the clock lock until FP32 matches the target
  gpudev cosplay down <session> [--host H]   stop a session and restore the host (with sudo when it
                            was applied with sudo)
  gpudev cosplay orphans [--host H] [--sudo] [--json]
                            sessions whose container no longer runs: their host changes are still in place
  gpudev cosplay cleanup [--host H] [--sudo] [--yes]
                            restore what the orphans changed (asks first unless --yes)
                            (--host: an ssh alias or user@host[:port]; default this machine;
                             --sudo: also the sessions applied with sudo, whose journal is root's)`;

const VERBS = ['up', 'list', 'verify', 'calibrate', 'down', 'orphans', 'cleanup', 'ssh-config'];
const FLAGS = new Set(['--json', '--sudo', '--force', '--yes', '--no-docker']);
const VALUED = new Set(['--gpu', '--num', '--strategy', '--image', '--host', '--reservation', '--login']);

/** The host's runner and engine: this machine (DOCKER_HOST or Docker's socket) or an SSH host. */
async function hostOf(spec: string | undefined, local: Runner): Promise<CliHost | string> {
  if (!spec || spec === 'local')
    return {
      label: LOCAL_HOST,
      runner: local,
      docker: connectDocker({ kind: 'local', label: LOCAL_HOST, socketPath: localDockerSocket() }),
      close: () => undefined,
    };
  const refused = parseHostSpec(spec);
  if (typeof refused === 'string') return refused;
  const runner = await createSshRunner({ name: spec, ssh: spec }, local);
  if ('message' in runner) return describeError(runner);
  return { label: spec, runner, docker: connectDocker(sshDockerTarget(runner)), close: () => runner.close() };
}

const stateOf = (s: Session) =>
  s.unrestored
    ? `stopped — host not restored: ${s.unrestored}`
    : s.running
      ? s.process
        ? `running (process session, sshd on port ${s.process.port ?? '?'})`
        : 'running'
      : s.state === 'unknown'
        ? 'unknown (Docker cannot be asked)'
        : s.process
          ? 'orphan (its sshd is gone)'
          : `orphan (container ${s.state})`;

function printSessions(listing: Listing, io: Io, label: string): void {
  if (!listing.sessions.length) io.out(`no cosplay sessions on ${label}\n`);
  else
    io.out(
      `${alignColumns([['session', 'target', 'gpu', 'owner', 'age', 'state'], ...listing.sessions.map((s) => [s.name, s.plan.targetName, s.gpus?.map((g) => g.index).join(',') ?? String(s.gpuIndex), s.owner, sessionAge(s), stateOf(s)])], [0, 1]).join('\n')}\n`,
    );
  listing.foreign.forEach((c) => io.err(`foreign container ${c.name} (${c.state}): ${c.why}; never restored from\n`));
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

/** `up` without a target: `.gpudev.yaml`'s `gpu.target` in the working folder, said on stderr. */
function workspaceTarget(io: Io): string[] | string {
  const config = readWorkspaceConfig(process.cwd());
  if (typeof config === 'string') return config;
  const target = config?.gpu?.target;
  if (target) io.err(`target ${target} (.gpudev.yaml)\n`);
  return target ? [target] : [];
}

export async function cosplayCommand(args: readonly string[], io: Io): Promise<number> {
  const fail = (message: string, code = 2) => (io.err(`gpudev cosplay: ${message}\n`), code);
  const [verb, ...rest] = args;
  const parsed = parseArgs(rest, FLAGS, VALUED);
  if (typeof parsed === 'string') return fail(parsed);
  const { options, flags } = parsed;
  if (!verb || !VERBS.includes(verb)) return fail(`usage:\n${COSPLAY_USAGE}`);
  const positional = verb === 'up' && !parsed.positional.length ? workspaceTarget(io) : parsed.positional;
  if (typeof positional === 'string') return fail(positional);
  const named = ['up', 'verify', 'calibrate', 'down', 'ssh-config'].includes(verb);
  if (named !== (positional.length === 1) || positional.length > 1)
    return fail(named ? `${verb} needs one ${verb === 'up' ? 'target' : 'session'}` : `${verb} takes no name`);
  const job = options.get('--reservation');
  if (job && !options.get('--login')) return fail("--reservation needs --login (the cluster's login node)");
  const host = job
    ? await reservationHost(job, options.get('--login')!, new LocalRunner())
    : await hostOf(options.get('--host'), new LocalRunner());
  if (typeof host === 'string') return fail(host);
  if (host.job && !options.has('--gpu')) {
    const gpu = await jobGpu(host);
    if (gpu) options.set('--gpu', gpu);
  }
  try {
    const sudo = flags.has('--sudo');
    let journals = await openJournals(host.runner, sudo);
    if ('message' in journals) return fail(describeError(journals), 1);
    let listing = await listSessions(host.docker, journals);
    // A session applied with sudo is handled with sudo: its container (or, for a process session, its
    // folder the user's journal does not know) says its journal is root's (the claim only decides where
    // to look; what is undone comes from that root-owned journal).
    const name = positional[0];
    if (
      !sudo &&
      name &&
      !listing.sessions.some((s) => s.name === name) &&
      (listing.foreign.some((c) => c.name === name && c.claimsRoot) || (await claimsRootJournal(journals[0]!, name)))
    ) {
      journals = await openJournals(host.runner, true);
      if ('message' in journals) return fail(describeError(journals), 1);
      listing = await listSessions(host.docker, journals);
    }
    const open = journals;
    listing.problems.forEach((p) => io.err(`warning: ${p}\n`));
    const orphans = orphansOf(listing);
    if (verb !== 'orphans' && verb !== 'cleanup' && orphans.length)
      io.err(
        `${orphans.length} orphaned session${orphans.length > 1 ? 's' : ''} on ${host.label} (${orphans.map((o) => `${o.name} of ${o.owner}, ${sessionAge(o)}`).join('; ')}): gpudev cosplay cleanup restores ${orphans.length > 1 ? 'them' : 'it'}\n`,
      );
    if (verb === 'up') return await up(positional[0]!, options, flags, host, listing, io);
    if (verb === 'ssh-config') return await sshConfig(positional[0]!, host, listing, io);
    if (verb === 'list' || verb === 'orphans') {
      const shownListing = verb === 'orphans' ? { ...listing, sessions: orphans } : listing;
      if (flags.has('--json'))
        io.out(`${JSON.stringify({ sessions: shownListing.sessions, foreign: listing.foreign }, null, 2)}\n`);
      else printSessions(shownListing, io, host.label);
      return 0;
    }
    const sessionHost = (session: Session): SessionHost => ({
      runner: host.runner,
      docker: host.docker,
      journal: open.find((j) => j.kind === session.journal) ?? open[0]!,
      owner: localOwner(),
      onWait: (heldBy) => io.err(`… waiting for GPU ${session.gpuIndex}: locked by ${heldBy}\n`),
    });
    if (verb === 'cleanup') {
      if (!orphans.length) return (io.out(`no orphans on ${host.label}\n`), 0);
      orphans.forEach((o) =>
        io.out(
          `${o.name} (${o.owner}, ${sessionAge(o)}, GPU ${o.gpuIndex}): ${o.changes.join(', ') || 'nothing on the host'}\n`,
        ),
      );
      if (!flags.has('--yes') && !(await confirm(`Restore what ${orphans.length > 1 ? 'these' : 'this'} changed?`)))
        return fail('nothing done: add --yes to restore them', 1);
      const results = await Promise.all(
        open.map((journal) =>
          cleanUpOrphans(
            orphans.filter((o) => o.journal === journal.kind),
            { ...sessionHost(orphans[0]!), journal },
          ),
        ),
      );
      results.flatMap((r) => r.cleaned).forEach((name) => io.out(`${name}: restored\n`));
      const failures = results.flatMap((r) => r.failures);
      failures.forEach((f) => io.err(`${f}\n`));
      return failures.length ? 1 : 0;
    }
    const session = listing.sessions.find((s) => s.name === positional[0]);
    if (!session) return fail(`no session ${positional[0]} on ${host.label} (gpudev cosplay list shows them)`, 1);
    const context = sessionHost(session);
    if (verb === 'down') {
      const outcome = await stopSession(session, context);
      outcome.kept.forEach((k) => io.out(`kept for another session on the GPU: ${k}\n`));
      if (outcome.failure)
        return fail(
          `${session.name} stopped, host not restored: ${outcome.failure} (gpudev cosplay cleanup retries)`,
          1,
        );
      if (session.process) await removeSessionEntry(sessionAlias(host.label, session.name), sessionEntryFiles());
      io.out(
        `${session.name} stopped; ${host.label} restored${outcome.undone.length ? ` (${outcome.undone.join(', ')})` : ''}\n`,
      );
      return 0;
    }
    if (!session.running || !session.containerId)
      return fail(`${session.name} is not running (${stateOf(session)})`, 1);
    if (verb === 'calibrate') {
      const outcome = await calibrateSession(
        {
          session,
          onRun: (run, i) => io.err(`… run ${i + 1}: ${run.clockMHz} MHz → ${run.fp32.toFixed(1)} TFLOPS FP32\n`),
        },
        context,
      );
      if (!outcome.ok) return fail(`${describeError(outcome.error)}; the clock lock is as it was`, 1);
      io.out(
        `${session.name}: clocks locked at ${outcome.best.clockMHz} MHz give ${outcome.best.fp32.toFixed(1)} TFLOPS FP32 (${aimText(outcome)})${outcome.withinTolerance ? '' : ' (still more than 10% off)'}\n`,
      );
      return outcome.withinTolerance ? 0 : 1;
    }
    const report = parseVerifyReport(await verifyOutput(session, host.docker, context.journal));
    if (!report.ok) return fail(report.error, 1);
    for (const c of report.report.checks)
      io.out(
        `${c.status.toUpperCase().padEnd(5)} ${c.title}${c.status === 'fail' ? ` (expected ${shown(c.expected)}, got ${shown(c.actual)})` : ''}\n`,
      );
    io.out(`${verifySummary(report.report)}\n`);
    return report.report.checks.some((c) => c.status === 'fail') ? 1 : 0;
  } catch (error) {
    if (error instanceof DockerFailure) return fail(describeError(error.failure), 1);
    throw error;
  } finally {
    host.close();
  }
}
