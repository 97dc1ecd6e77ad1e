// Attach and Copy SSH Command on a running reservation: the Host entries in our ssh config file, then
// Remote-SSH, or a terminal that runs inside the job's allocation.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { quoteArg, quoteArgv } from '../hosts/shellQuote';
import {
  allocationShell,
  defaultSshConfigFile,
  firstNode,
  writeAttachConfig,
  writeLoginEntry,
} from '../reserve/attach';
import { hasInclude, withInclude } from '../remote/sshConfigFile';
import type { ClusterState, ReservationNode, Reservations } from './reservations';
import { machineSetting } from './settings';

type JobNode = Extract<ReservationNode, { kind: 'reservation' }>;

const REMOTE_SSH = 'ms-vscode-remote.remote-ssh';
const INCLUDE_CONSENT = 'gpuDev.ssh.includeConsent';

/** Our file, from `gpuDev.ssh.configFile` (~ expanded), else ~/.ssh/gpudev/config. */
export function ourSshConfigFile(): string {
  const configured = machineSetting<string>('ssh.configFile')?.trim();
  return configured ? configured.replace(/^~(?=\/)/, os.homedir()) : defaultSshConfigFile();
}

/** Adds our Include to ~/.ssh/config once the user agreed (asked once, remembered); whether it is there. */
export async function ensureInclude(state: vscode.Memento, file: string): Promise<boolean> {
  const userConfig = path.join(os.homedir(), '.ssh', 'config');
  const text = await fs.readFile(userConfig, 'utf8').catch(() => '');
  if (hasInclude(text)) return true;
  if (state.get(INCLUDE_CONSENT) === 'never') return false;
  const choice = await vscode.window.showInformationMessage(
    `Let Remote-SSH and ssh find reserved nodes by name? This adds "Include ${file}" (in a marked block) at the top of ~/.ssh/config, once.`,
    { modal: true },
    'Add Include',
    'Not Now',
    'Never',
  );
  if (choice === 'Never') await state.update(INCLUDE_CONSENT, 'never');
  if (choice !== 'Add Include') return false;
  await fs.mkdir(path.dirname(userConfig), { recursive: true, mode: 0o700 });
  await fs.writeFile(userConfig, withInclude(text, file), { mode: 0o600 });
  return true;
}

/** The job's Host entry written (the login node's too, the node's key pinned); an error was shown when it could not be. */
async function prepareSsh(cluster: ClusterState, node: JobNode, local: Runner) {
  const attached = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Preparing ssh to job ${node.job.jobId}` },
    () =>
      writeAttachConfig(
        {
          cluster: node.cluster,
          login: cluster.entry.login,
          jobId: node.job.jobId,
          nodes: node.job.nodes,
          configFile: ourSshConfigFile(),
          mode: cluster.entry.attach === 'job-sshd' ? 'job-sshd' : 'proxyjump',
        },
        cluster.login,
        local,
      ),
  );
  if (!('message' in attached)) return attached;
  void vscode.window.showErrorMessage(`Cannot reach job ${node.job.jobId} over ssh: ${describeError(attached)}`);
  return undefined;
}

const notRunning = (node: JobNode, what: string) =>
  void vscode.window.showInformationMessage(
    `Reservation ${node.job.jobId} is ${node.job.state}: it has no node yet; ${what} once it runs.`,
  );

/** A terminal running `ssh -t -F <our file> <alias>` into a shell inside the job's allocation (see allocationShell). */
function allocationTerminal(node: JobNode, configFile: string, alias: string, where: string): vscode.Terminal {
  const terminal = vscode.window.createTerminal({
    name: `job ${node.job.jobId} on ${where}`,
    shellPath: 'ssh',
    shellArgs: ['-t', '-F', configFile, alias, `sh -c ${quoteArg(allocationShell(node.job.jobId, where))}`],
    iconPath: new vscode.ThemeIcon('remote'),
  });
  terminal.show();
  return terminal;
}

/** `ssh -F <our file> gpudev-<cluster>-<job>`: the Host entry the product writes (written first), so the pinned key and the jump apply. */
export async function copySshCommand(reservations: Reservations, node: JobNode | undefined): Promise<void> {
  const cluster = node && reservations.get(node.cluster);
  if (!node || !cluster) return;
  if (node.job.state !== 'RUNNING' || !node.job.nodes) return notRunning(node, 'copy its ssh command');
  const attached = await prepareSsh(cluster, node, reservations.local);
  if (!attached) return;
  const command = quoteArgv(attached.sshCommand);
  await vscode.env.clipboard.writeText(command);
  void vscode.window.showInformationMessage(`Copied: ${command}`);
}

/** "Attach": the Host entry written, then the node opened in a new window with Remote-SSH, or a terminal inside the allocation when it is missing. */
export async function attachReservation(
  reservations: Reservations,
  node: JobNode | undefined,
  local: Runner,
  state: vscode.Memento,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const cluster = node && reservations.get(node.cluster);
  if (!node || !cluster) return;
  if (node.job.state !== 'RUNNING') return notRunning(node, 'attach');
  if (cluster.entry.attach === 'srun') {
    // srun run on the login node: no sshd on the nodes needed, and no VS Code window either.
    const login = await writeLoginEntry(
      { cluster: node.cluster, login: cluster.entry.login, configFile: ourSshConfigFile() },
      local,
    );
    if ('message' in login)
      return void vscode.window.showErrorMessage(`Cannot attach to ${node.job.jobId}: ${describeError(login)}`);
    allocationTerminal(node, login.configFile, login.alias, firstNode(node.job.nodes) ?? node.job.nodes);
    return;
  }
  const attached = await prepareSsh(cluster, node, local);
  if (!attached) return;
  log.info(
    `attach ${node.job.jobId}: ${attached.alias} → ${attached.node} via ${cluster.entry.login}, in ${attached.configFile}`,
  );
  const included = await ensureInclude(state, attached.configFile);
  if (vscode.extensions.getExtension(REMOTE_SSH) && included) {
    const home = (await cluster.login.run(['printenv', 'HOME'])).stdout.trim() || '/';
    await vscode.commands.executeCommand(
      'vscode.openFolder',
      vscode.Uri.parse(`vscode-remote://ssh-remote+${attached.alias}${home}`),
      { forceNewWindow: true },
    );
    return;
  }
  const why = !vscode.extensions.getExtension(REMOTE_SSH)
    ? 'the Remote-SSH extension is not installed'
    : `~/.ssh/config does not include ${attached.configFile}, so Remote-SSH cannot find ${attached.alias}`;
  allocationTerminal(node, attached.configFile, attached.alias, attached.node);
  void vscode.window.showInformationMessage(
    `Opened a terminal inside job ${node.job.jobId}'s allocation on ${attached.node} instead of a window: ${why}.`,
  );
}
