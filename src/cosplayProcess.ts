// `gpudev cosplay up --no-docker` and `gpudev cosplay ssh-config`: process sessions on the command line,
// each reached through its own Host entry (`ssh -F ~/.ssh/gpudev/config <alias>`, or Remote-SSH).
import * as path from 'node:path';
import { describeError } from './core/errors';
import { localOwner, type HostJournal } from './cosplay/hostJournal';
import { SESSION_NAME } from './cosplay/changes';
import { sessionFolder } from './cosplay/process/sessionFiles';
import { shimArchive } from './cosplay/hostProfile';
import type { CosplayPlan } from './cosplay/planner';
import { applyProcessSession, type ProcessApplyRequest } from './cosplay/process/processSession';
import type { Listing } from './cosplay/sessions';
import type { CliHost, Io } from './cosplayUp';
import { connectDocker, sshDockerTarget } from './hosts/docker';
import { LocalRunner, LOCAL_HOST, type Runner } from './hosts/runner';
import { createSshRunner } from './hosts/sshHosts';
import { AllocationRunner } from './reserve/allocationRunner';
import { quoteArg } from './hosts/shellQuote';
import { defaultSshConfigFile, firstNode, gpudevKnownHosts } from './reserve/attach';
import { prepareSessionEntry, sessionKey } from './remote/sessionHostEntry';

/** Our ssh config and known_hosts files, where process sessions' Host entries go. */
export const sessionEntryFiles = () => ({ configFile: defaultSshConfigFile(), knownHostsFile: gpudevKnownHosts() });

async function entryFor(host: CliHost, sessionName: string, port: number, folder: string, hostKey?: string) {
  return prepareSessionEntry({
    hostLabel: host.label,
    hostSpec: host.job ? host.job.login : host.label === LOCAL_HOST ? null : host.label,
    ...(host.job && { node: host.job.node }),
    sessionName,
    port,
    folder,
    ...(hostKey && { hostKey }),
    hostRunner: host.runner,
    local: new LocalRunner(),
    files: sessionEntryFiles(),
  });
}

const howToEnter = (alias: string) =>
  `ssh -F ${quoteArg(sessionEntryFiles().configFile)} ${alias}   (or Remote-SSH: Connect to Host… ${alias})\n`;

export async function upProcess(
  plan: CosplayPlan,
  gpuIndex: number,
  sessionName: string,
  host: CliHost,
  shimRoot: string,
  extraEnv: Readonly<Record<string, string>> | undefined,
  io: Io,
  more?: Pick<ProcessApplyRequest, 'sudo' | 'confirmBusy' | 'gpus'>,
): Promise<number> {
  const key = await sessionKey(path.dirname(sessionEntryFiles().configFile), new LocalRunner());
  if ('message' in key) return (io.err(`gpudev cosplay: ${describeError(key)}\n`), 1);
  const outcome = await applyProcessSession(
    {
      plan,
      gpuIndex,
      hostLabel: host.label,
      sessionName,
      owner: localOwner(),
      shimTar: await shimArchive(shimRoot, 'shim'),
      authorizedKeys: [key.publicKey],
      ...(host.job && { jobStep: (argv, env) => host.job!.startStep(argv, env) }),
      ...(extraEnv && { extraEnv }),
      ...more,
      onStep: (step) => io.err(`… ${step}\n`),
    },
    host.runner,
  );
  if (!outcome.ok) {
    io.err(`gpudev cosplay: failed at "${outcome.failedStep}": ${describeError(outcome.error)}\n`);
    io.err(
      outcome.restored
        ? 'every earlier step was undone: the host is as it was\n'
        : 'host not restored: gpudev cosplay cleanup retries\n',
    );
    return 1;
  }
  const { session } = outcome;
  session.notApplied.forEach((note) => io.err(`${note}\n`));
  const entry = await entryFor(host, sessionName, session.sshd.port, session.folder, session.sshd.hostKey);
  io.err(
    'message' in entry
      ? `gpudev cosplay: the session runs, but its Host entry could not be written: ${describeError(entry)}\n`
      : howToEnter(entry.alias),
  );
  io.out(`${sessionName}\n`);
  return 0;
}

/** `gpudev cosplay ssh-config <session>`: (re)writes a running process session's Host entry and prints its alias. */
export async function sshConfig(name: string, host: CliHost, listing: Listing, io: Io): Promise<number> {
  const session = listing.sessions.find((s) => s.name === name);
  if (!session) return (io.err(`gpudev cosplay: no session ${name} on ${host.label}\n`), 2);
  if (!session.process)
    return (io.err(`gpudev cosplay: ${name} is a container session: it has no sshd of its own\n`), 2);
  if (!session.running || session.process.port === null)
    return (io.err(`gpudev cosplay: ${name}'s sshd no longer runs (an orphan: gpudev cosplay cleanup)\n`), 1);
  const entry = await entryFor(host, name, session.process.port, session.process.folder);
  if ('message' in entry) return (io.err(`gpudev cosplay: ${describeError(entry)}\n`), 1);
  io.err(howToEnter(entry.alias));
  io.out(`${entry.alias}\n`);
  return 0;
}

/** `--reservation <job> --login L`: the job's first node, every command a step inside its allocation. */
export async function reservationHost(jobId: string, login: string, local: Runner): Promise<CliHost | string> {
  if (!/^\d+(_\d+)?$/.test(jobId)) return `--reservation takes a Slurm job id, not ${jobId}`;
  const runner = await createSshRunner({ name: login, ssh: login }, local);
  if ('message' in runner) return describeError(runner);
  const queue = await runner.run(['squeue', '-h', '-j', jobId, '-o', '%T|%N']);
  if (queue.failure) {
    runner.close();
    return describeError(queue.failure);
  }
  const [state = '', nodes = ''] = queue.stdout.trim().split('|');
  const node = firstNode(nodes);
  if (queue.exitCode !== 0 || state !== 'RUNNING' || !node) {
    runner.close();
    return `job ${jobId} on ${login} is not running (${state || queue.stderr.trim() || 'not in the queue'}): cosplay needs a running reservation`;
  }
  const allocation = new AllocationRunner(runner, jobId, node);
  return {
    label: `${login}-job${jobId}`,
    runner: allocation,
    docker: connectDocker(sshDockerTarget(runner)),
    job: { login, node, startStep: (argv, env) => allocation.startStep(argv, env) },
    close: () => runner.close(),
  };
}

/** The job's first GPU (what `--gpu` means inside a reservation when not given): Slurm's CUDA_VISIBLE_DEVICES there. */
export async function jobGpu(host: CliHost): Promise<string | undefined> {
  const visible = (await host.runner.run(['printenv', 'CUDA_VISIBLE_DEVICES'])).stdout.trim().split(',')[0] ?? '';
  return /^\d+$/.test(visible) ? visible : undefined;
}

/** A process session applied with sudo: root's journal records it, the user's folders hold it (a folder of that name there). */
export async function claimsRootJournal(user: HostJournal, name: string): Promise<boolean> {
  if (user.sudo || !SESSION_NAME.test(name)) return false;
  return (await user.runner.run(['test', '-d', sessionFolder(user.dir, name)])).exitCode === 0;
}
