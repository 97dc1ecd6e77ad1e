// The folder URI Dev Containers opens for an attached container: `attached-container+<hex of JSON>`, and
// for a container on an SSH host nested in Remote-SSH's authority (`…@ssh-remote+<alias>`). The JSON is
// not documented by Microsoft (it is what Dev Containers itself writes into its recent-folders list):
// a unit test pins what we send; no test here opens it in a real Dev Containers.

/** `vscode-remote://attached-container+<hex>[@ssh-remote+<alias>]<folder>`. */
export function attachedContainerUri(containerName: string, folder = '/', sshAlias?: string): string {
  if (!/^[\w.-]+$/.test(containerName)) throw new Error(`not a container name: ${containerName}`);
  if (sshAlias !== undefined && !/^[\w.-]+$/.test(sshAlias)) throw new Error(`not an ssh alias: ${sshAlias}`);
  if (!folder.startsWith('/')) throw new Error(`not an absolute folder: ${folder}`);
  const hex = Buffer.from(JSON.stringify({ containerName: `/${containerName}` }), 'utf8').toString('hex');
  const authority = `attached-container+${hex}${sshAlias ? `@ssh-remote+${sshAlias}` : ''}`;
  return `vscode-remote://${authority}${folder.split('/').map(encodeURIComponent).join('/')}`;
}

/** `vscode-remote://ssh-remote+<alias><folder>`: Remote-SSH's window on a host of our ssh config. */
export function sshRemoteUri(alias: string, folder: string): string {
  if (!/^[\w.-]+$/.test(alias)) throw new Error(`not an ssh alias: ${alias}`);
  if (!folder.startsWith('/')) throw new Error(`not an absolute folder: ${folder}`);
  return `vscode-remote://ssh-remote+${alias}${folder.split('/').map(encodeURIComponent).join('/')}`;
}
