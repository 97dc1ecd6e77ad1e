// Attach for a process session: its Host entry written, our Include in ~/.ssh/config (asked once), then a
// Remote-SSH window on it — the whole window (server, terminals, debugger, notebooks) inside the
// disguise; without Remote-SSH, a terminal through the same entry, and why.
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import type { Session } from '../cosplay/session';
import { LocalRunner, LOCAL_HOST } from '../hosts/runner';
import { defaultSshConfigFile, gpudevKnownHosts } from '../reserve/attach';
import { sshRemoteUri } from '../remote/devContainerUri';
import { prepareSessionEntry } from '../remote/sessionHostEntry';
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
    hostSpec: host.name === LOCAL_HOST ? null : host.name,
    sessionName: session.name,
    port,
    folder: session.process.folder,
    hostRunner: host.runner,
    local: new LocalRunner(),
    files,
  });
  if ('message' in entry)
    return void vscode.window.showErrorMessage(`Cannot attach to ${session.name}: ${describeError(entry)}`);
  const included = !terminal && (await ensureInclude(state, entry.configFile));
  if (vscode.extensions.getExtension(REMOTE_SSH) && included) {
    const home = session.process.folder.replace(/\/\.local\/state\/gpudev\/sessions\/.*$/, '') || '/';
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.parse(sshRemoteUri(entry.alias, home)), {
      forceNewWindow: true,
    });
    return;
  }
  const why = !vscode.extensions.getExtension(REMOTE_SSH)
    ? 'the Remote-SSH extension is not installed'
    : `~/.ssh/config does not include ${entry.configFile}, so Remote-SSH cannot find ${entry.alias}`;
  vscode.window
    .createTerminal({
      name: `GPU: ${session.name}`,
      shellPath: 'ssh',
      shellArgs: ['-F', entry.configFile, entry.alias],
    })
    .show();
  void vscode.window.showInformationMessage(
    `Opened a terminal in ${session.name} instead of a VS Code window: ${why}.`,
  );
}
