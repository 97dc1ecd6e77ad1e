// `gpudev cosplay up --no-docker` and `gpudev cosplay ssh-config`: process sessions on the command line,
// each reached through its own Host entry (`ssh -F ~/.ssh/gpudev/config <alias>`, or Remote-SSH).
import * as path from 'node:path';
import { describeError } from './core/errors';
import { localOwner } from './cosplay/hostJournal';
import { shimArchive } from './cosplay/hostProfile';
import type { CosplayPlan } from './cosplay/planner';
import { applyProcessSession } from './cosplay/process/processSession';
import { isHostKey } from './cosplay/process/sessionFiles';
import type { Listing } from './cosplay/sessions';
import type { CliHost, Io } from './cosplayUp';
import { LocalRunner, LOCAL_HOST } from './hosts/runner';
import { quoteArg } from './hosts/shellQuote';
import { resolveSshTarget } from './hosts/sshConfig';
import { defaultSshConfigFile, gpudevKnownHosts } from './reserve/attach';
import { sessionAlias, sessionKey, writeSessionEntry } from './remote/sessionHostEntry';

/** Our ssh config and known_hosts files, where process sessions' Host entries go. */
export const sessionEntryFiles = () => ({ configFile: defaultSshConfigFile(), knownHostsFile: gpudevKnownHosts() });
const files = sessionEntryFiles;

async function writeEntry(
  host: CliHost,
  alias: string,
  started: { port: number; hostKey: string },
  identity: string,
): Promise<string | undefined> {
  const local = new LocalRunner();
  const target = host.label === LOCAL_HOST ? null : await resolveSshTarget(host.label, local);
  if (target && 'message' in target) return describeError(target);
  await writeSessionEntry(alias, started, target, { ...files(), identity });
  return undefined;
}

function sayHowToEnter(alias: string, io: Io): void {
  io.err(`ssh -F ${quoteArg(files().configFile)} ${alias}   (or Remote-SSH: Connect to Host… ${alias})\n`);
}

export async function upProcess(
  plan: CosplayPlan,
  gpuIndex: number,
  sessionName: string,
  host: CliHost,
  shimRoot: string,
  extraEnv: Readonly<Record<string, string>> | undefined,
  io: Io,
): Promise<number> {
  const key = await sessionKey(path.dirname(files().configFile), new LocalRunner());
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
      // The test hosts' variables, but never their PATH: a process session keeps the host's own.
      ...(extraEnv && { extraEnv: Object.fromEntries(Object.entries(extraEnv).filter(([name]) => name !== 'PATH')) }),
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
  outcome.session.notApplied.forEach((note) => io.err(`${note}\n`));
  const alias = sessionAlias(host.label, sessionName);
  const failed = await writeEntry(host, alias, outcome.session.sshd, key.file);
  if (failed) io.err(`gpudev cosplay: the session runs, but its Host entry could not be written: ${failed}\n`);
  else sayHowToEnter(alias, io);
  io.out(`${sessionName}\n`);
  return 0;
}

/** `gpudev cosplay ssh-config <session>`: (re)writes a running process session's Host entry and prints its alias. */
export async function sshConfig(name: string, host: CliHost, listing: Listing, io: Io): Promise<number> {
  const session = listing.sessions.find((s) => s.name === name);
  if (!session) return (io.err(`gpudev cosplay: no session ${name} on ${host.label}\n`), 2);
  if (!session.process)
    return (io.err(`gpudev cosplay: ${name} is a container session: gpudev cosplay list shows how to reach it\n`), 2);
  if (!session.running || session.process.port === null)
    return (io.err(`gpudev cosplay: ${name}'s sshd no longer runs (an orphan: gpudev cosplay cleanup)\n`), 1);
  const hostKey = await host.runner.run(['cut', '-d', ' ', '-f1,2', '--', `${session.process.folder}/host_key.pub`]);
  if (!isHostKey(hostKey.stdout.trim()))
    return (io.err(`gpudev cosplay: ${name}'s host key cannot be read (${session.process.folder}/host_key.pub)\n`), 1);
  const started = { port: session.process.port, hostKey: hostKey.stdout.trim() };
  const key = await sessionKey(path.dirname(files().configFile), new LocalRunner());
  if ('message' in key) return (io.err(`gpudev cosplay: ${describeError(key)}\n`), 1);
  const alias = sessionAlias(host.label, name);
  const failed = await writeEntry(host, alias, started, key.file);
  if (failed) return (io.err(`gpudev cosplay: ${failed}\n`), 1);
  sayHowToEnter(alias, io);
  io.out(`${alias}\n`);
  return 0;
}
