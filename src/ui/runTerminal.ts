// "GPU: Run on Reservation…": a running reservation (its row, or picked), a command (for a Python or shell
// editor, that file), the workspace synced, the command run inside the allocation, its output in a
// terminal (a Pseudoterminal: Ctrl-C interrupts the step, twice kills it; the exit code shown at the end).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { workspaceModule } from './analyzePanel';
import { describeError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { createSshRunner } from '../hosts/sshHosts';
import type { SshRunner } from '../hosts/sshRunner';
import { firstNode } from '../reserve/attach';
import { splitCommandLine } from '../reserve/commandLine';
import { runOnReservation, type StartedStep } from '../reserve/runOnReservation';
import type { Reservation } from '../reserve/slurm/cluster';
import type { ReservationNode, Reservations } from './reservations';

type JobNode = Extract<ReservationNode, { kind: 'reservation' }>;

const LAST_COMMAND = 'gpuDev.runOnReservation.lastCommand';
const CYAN = '\x1b[36m';
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';
/** A terminal needs \r\n; a program's lone \n are turned into that. */
const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

/** The reservation to run on: the row's, else the only running one, else the user's pick. */
async function pickJob(reservations: Reservations, node: JobNode | undefined): Promise<JobNode | undefined> {
  if (node?.kind === 'reservation') return node;
  const running = reservations
    .names()
    .flatMap((cluster) =>
      (reservations.get(cluster)?.watch.reservations ?? [])
        .filter((job) => job.state === 'RUNNING')
        .map((job): JobNode => ({ kind: 'reservation', cluster, job })),
    );
  if (!running.length) {
    const reserve = await vscode.window.showInformationMessage(
      'No running reservation to run on: reserve GPUs first (the Reservations view lists them).',
      'Reserve GPUs…',
    );
    if (reserve) void vscode.commands.executeCommand('gpuDev.reserveGpus');
    return undefined;
  }
  if (running.length === 1) return running[0];
  const picked = await vscode.window.showQuickPick(
    running.map((r) => ({ label: `${r.job.jobId} ${r.job.name}`, description: `${r.cluster}: ${r.job.nodes}`, r })),
    { title: 'Run on which reservation?' },
  );
  return picked?.r;
}

/** The command to run: asked for, prefilled with the editor's file (python3 / bash) or the last one. */
async function askCommand(state: vscode.Memento, root: string, file: vscode.Uri | undefined) {
  const relative = file && path.relative(root, file.fsPath).split(path.sep).join('/');
  const suggested =
    relative && !relative.startsWith('..')
      ? `${/\.(sh|bash)$/.test(relative) ? 'bash' : 'python3'} ${/[^\w./-]/.test(relative) ? `'${relative}'` : relative}`
      : state.get<string>(LAST_COMMAND, 'python3 train.py');
  const line = await vscode.window.showInputBox({
    title: 'Run on Reservation',
    prompt: `A command, run in the synced copy of ${path.basename(root)} (words as typed, no shell expansion; sh -c '…' for that)`,
    value: suggested,
    validateInput: (v) => {
      const words = splitCommandLine(v);
      return typeof words === 'string' ? words : words.length ? undefined : 'type a command';
    },
  });
  if (line === undefined) return undefined;
  await state.update(LAST_COMMAND, line);
  return splitCommandLine(line) as string[];
}

/** Runs `command` of the workspace `root` on the job; the terminal showing it. */
function openRunTerminal(
  job: Reservation,
  login: SshRunner,
  local: Runner,
  root: string,
  command: readonly string[],
  log: vscode.LogOutputChannel,
): vscode.Terminal {
  const write = new vscode.EventEmitter<string>();
  const close = new vscode.EventEmitter<number | void>();
  let step: StartedStep | undefined;
  let ended = false;
  let closed = false;
  let presses = 0;
  const finish = (line: string) => {
    ended = true;
    login.close();
    write.fire(`\r\n${line}\r\n[press any key to close]\r\n`);
  };
  const pty: vscode.Pseudoterminal = {
    onDidWrite: write.event,
    onDidClose: close.event,
    open: () => {
      write.fire(`${CYAN}gpudev: syncing ${path.basename(root)} to ${login.label}…${RESET}\r\n`);
      const exclude = workspaceModule().syncExcludeOf(root);
      if (typeof exclude === 'string') return finish(`${RED}gpudev: ${exclude}${RESET}`);
      void runOnReservation(
        {
          root,
          ...(exclude && { exclude }),
          jobId: job.jobId,
          command,
          login,
          local,
          colour: true,
          ...(firstNode(job.nodes) && { node: firstNode(job.nodes) }),
          ...(job.nodeCount && { nodeCount: job.nodeCount }),
        },
        {
          onStdout: (text) => write.fire(crlf(text)),
          onStderr: (text) => write.fire(crlf(text)),
          onEnd: ({ exitCode, error }) => {
            log.info(`run on ${job.jobId}: ${command.join(' ')} → ${error ? error.message : `exit ${exitCode}`}`);
            if (error) return finish(`${RED}gpudev: ${describeError(error)}${RESET}`);
            const colour = exitCode === 0 ? GREEN : RED;
            finish(`${colour}gpudev: exit code ${exitCode ?? 'none (the step was killed)'}${RESET}`);
          },
        },
        (synced) =>
          write.fire(
            `${CYAN}gpudev: sent ${synced.sent.length} of ${synced.files} files (${synced.bytes} bytes${synced.deleted.length ? `, ${synced.deleted.length} removed` : ''}) to ${synced.remoteDir} by ${synced.transport}${synced.fallback ? ` (${synced.fallback})` : ''}; running ${command.join(' ')} in job ${job.jobId}${RESET}\r\n`,
          ),
      ).then((started) => {
        if ('message' in started) finish(`${RED}gpudev: ${describeError(started)}${RESET}`);
        else if (closed) void started.signal('KILL');
        else step = started;
      });
    },
    close: () => {
      closed = true;
      if (!ended) void step?.signal('KILL');
    },
    handleInput: (data) => {
      if (ended) return close.fire();
      if (!data.includes('\x03') || !step) return;
      presses++;
      write.fire(
        `\r\n${CYAN}gpudev: ${presses === 1 ? 'interrupting the step (SIGINT; Ctrl-C again kills it)' : 'killing the step'}${RESET}\r\n`,
      );
      void step
        .signal(presses === 1 ? 'INT' : 'KILL')
        .then((error) => error && write.fire(`${RED}gpudev: ${error.message}${RESET}\r\n`));
    },
  };
  const terminal = vscode.window.createTerminal({
    name: `Run on ${job.jobId}`,
    pty,
    iconPath: new vscode.ThemeIcon('run'),
  });
  terminal.show();
  return terminal;
}

/** "GPU: Run on Reservation…" from a reservation's row, an editor's title bar or the palette. */
export async function runOnReservationCommand(
  reservations: Reservations,
  arg: JobNode | vscode.Uri | undefined,
  local: Runner,
  state: vscode.Memento,
  log: vscode.LogOutputChannel,
): Promise<vscode.Terminal | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showInformationMessage(
      'Run on Reservation runs nothing in an untrusted workspace: trust it first.',
    );
    return undefined;
  }
  const file = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  const folder = (file && vscode.workspace.getWorkspaceFolder(file)) ?? vscode.workspace.workspaceFolders?.[0];
  if (!folder || folder.uri.scheme !== 'file') {
    void vscode.window.showErrorMessage('Run on Reservation syncs a workspace folder: open one first.');
    return undefined;
  }
  const node = await pickJob(reservations, arg instanceof vscode.Uri ? undefined : arg);
  const cluster = node && reservations.get(node.cluster);
  if (!node || !cluster) return undefined;
  if (node.job.state !== 'RUNNING') {
    void vscode.window.showInformationMessage(`Reservation ${node.job.jobId} is ${node.job.state}: run once it runs.`);
    return undefined;
  }
  const command = await askCommand(state, folder.uri.fsPath, file);
  if (!command) return undefined;
  const login = await createSshRunner({ name: cluster.entry.name, ssh: cluster.entry.login }, local);
  if ('message' in login) {
    void vscode.window.showErrorMessage(`Cannot reach ${cluster.entry.login}: ${describeError(login)}`);
    return undefined;
  }
  return openRunTerminal(node.job, login, local, folder.uri.fsPath, command, log);
}
