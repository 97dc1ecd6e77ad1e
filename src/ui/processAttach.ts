// Attach for a process session: its Host entry written, our Include in ~/.ssh/config (asked once), then a
// Remote-SSH window on it — the whole window (server, terminals, debugger, notebooks) inside the
// disguise; without Remote-SSH, a terminal through the same entry, and why.
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import type { Session } from '../cosplay/session';
import { LocalRunner, LOCAL_HOST } from '../hosts/runner';
import { defaultSshConfigFile, gpudevKnownHosts } from '../reserve/attach';
import { sshRemoteUri } from '../remote/devContainerUri';
import { prepareSessionEntry, warmSessionConnection } from '../remote/sessionHostEntry';
import type { CosplayHost } from './cosplaySessions';
import { ensureInclude } from './reservationAttach';

const REMOTE_SSH = 'ms-vscode-remote.remote-ssh';

/** A Remote-SSH window on the session (or, with `terminal`, always a terminal through its Host entry). */
export async function attachProcessSession(
  session: Session,
  host: CosplayHost,
  state: vscode.Memento,
  terminal = false,
): Promise<void> {
  const port = session.process?.port;
  if (!session.process || !session.running || !port)
    return void vscode.window.showErrorMessage(
      `${session.name}'s sshd no longer runs: clean it up from the GPUs view.`,
    );
  const files = { configFile: defaultSshConfigFile(), knownHostsFile: gpudevKnownHosts() };
  const entry = await prepareSessionEntry({
    hostLabel: host.name,
    // The Host entry jumps through the host as ssh reaches it: its gpuDev.hosts "ssh", not its name.
    hostSpec: host.name === LOCAL_HOST ? null : (host.ssh ?? host.name),
    sessionName: session.name,
    port,
    folder: session.process.folder,
    hostRunner: host.runner,
    local: new LocalRunner(),
    files,
  });
  if ('message' in entry)
    return void vscode.window.showErrorMessage(`Cannot attach to ${session.name}: ${describeError(entry)}`);
  const home = session.process.folder.replace(/\/\.local\/state\/gpudev\/sessions\/.*$/, '') || '/';
  await openSessionWindow({ ...entry, home, session: session.name, state, terminal });
}

/**
 * Opens a process session by its Host entry: a Remote-SSH window on it once our Include is in
 * ~/.ssh/config (asked once), otherwise — or with `terminal` — a terminal through the same entry.
 */
export async function openSessionWindow(request: {
  readonly alias: string;
  readonly configFile: string;
  /** The folder the window opens: the user's home on the host. */
  readonly home: string;
  readonly session: string;
  readonly state: vscode.Memento;
  readonly terminal?: boolean;
}): Promise<void> {
  const { alias, configFile, session } = request;
  // Our Include is asked for only where Remote-SSH could use it.
  const remoteSsh = !request.terminal && !!vscode.extensions.getExtension(REMOTE_SSH);
  const included = remoteSsh && (await ensureInclude(request.state, configFile));
  await warmSessionConnection(alias, configFile, new LocalRunner());
  if (included) {
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.parse(sshRemoteUri(alias, request.home)), {
      forceNewWindow: true,
    });
    return;
  }
  vscode.window
    .createTerminal({ name: `GPU: ${session}`, shellPath: 'ssh', shellArgs: ['-F', configFile, alias] })
    .show();
  if (request.terminal) return;
  const why = !vscode.extensions.getExtension(REMOTE_SSH)
    ? 'the Remote-SSH extension is not installed'
    : `~/.ssh/config does not include ${configFile}, so Remote-SSH cannot find ${alias}`;
  void vscode.window.showInformationMessage(`Opened a terminal in ${session} instead of a VS Code window: ${why}.`);
}
