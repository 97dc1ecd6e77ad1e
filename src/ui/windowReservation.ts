// The reservation this Remote-SSH window is on, for the VRAM gauge to follow. Where the extension runs
// decides which host that is: on the node itself (package.json sets no extensionKind, so VS Code runs
// it as a workspace extension, on the remote host) it is "This machine"; where it runs on the UI side
// (the user's `remote.extensionKind` says "ui") it is the reservation's host of the GPUs view.
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { LOCAL_HOST } from '../hosts/runner';
import { configHostNames, remoteSshHost, windowJob, windowJobNote, type WindowJob } from '../reserve/windowReservation';
import { ourSshConfigFile } from './reservationAttach';
import { reservationHostName } from './reservationHosts';
import type { Reservations } from './reservations';

/** What the gauge follows: a host of its list, and the tooltip's line saying which job. */
export interface FollowedReservation {
  readonly host: string;
  readonly note: string;
}

/** The window's SSH host: the authority of its first `vscode-remote` workspace folder (or workspace file). */
function windowSshHost(): string | undefined {
  if (vscode.env.remoteName !== 'ssh-remote') return undefined;
  const uris = [...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri), vscode.workspace.workspaceFile];
  const remote = uris.find((uri) => uri?.scheme === 'vscode-remote');
  return remoteSshHost(remote?.authority);
}

export class WindowReservation implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private config = new Map<string, string>();
  private job: WindowJob | undefined;

  constructor(
    private readonly reservations: Reservations,
    /** Where this extension host runs (`context.extension.extensionKind`). */
    private readonly kind: vscode.ExtensionKind,
  ) {
    this.subscriptions = [
      reservations.onDidChangeTreeData(() => this.update()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.update()),
    ];
    // Our ssh config is this machine's: read where the extension runs on the UI side.
    if (this.kind === vscode.ExtensionKind.UI)
      void fs.readFile(ourSshConfigFile(), 'utf8').then(
        (text) => {
          this.config = configHostNames(text);
          this.update();
        },
        () => undefined,
      );
    this.update();
  }

  follow(): FollowedReservation | undefined {
    const job = this.job;
    if (!job) return undefined;
    const note = windowJobNote(job);
    if (this.kind === vscode.ExtensionKind.Workspace) return { host: LOCAL_HOST, note };
    const state = this.reservations.get(job.cluster);
    const reservation = state?.watch.reservations.find((r) => r.jobId === job.jobId && r.state === 'RUNNING');
    return reservation && { host: reservationHostName(state!.entry.name, reservation), note };
  }

  private update(): void {
    const jobs = this.reservations
      .names()
      .flatMap((cluster) =>
        (this.reservations.get(cluster)?.watch.reservations ?? [])
          .filter((r) => r.state === 'RUNNING')
          .map((r) => ({ cluster, jobId: r.jobId, nodes: r.nodes })),
      );
    const job = windowJob(windowSshHost(), jobs, this.config);
    if (JSON.stringify(job) === JSON.stringify(this.job)) return;
    this.job = job;
    this.changed.fire();
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}
