import * as vscode from 'vscode';
import { describeError, type GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { createSshRunner } from '../hosts/sshHosts';
import type { SshRunner } from '../hosts/sshRunner';
import { parseClusterEntries, type ClusterEntry } from '../reserve/clusters';
import { formatSlurmTime } from '../reserve/duration';
import { SlurmCluster, type Reservation } from '../reserve/slurm/cluster';
import { describeReason } from '../reserve/slurm/reasons';
import { typeSummaries, type Availability } from '../reserve/slurm/sinfo';
import { jobRow } from '../reserve/jobRow';
import { zoneName } from '../reserve/slurm/clusterClock';
import { dueWarnings, ReservationWatch, type EndedJob } from '../reserve/watch';
import { hardwareWarnings, jobTooltipLines, pollSeconds } from './reservationChecks';
import { askToTrustHostKey } from './remoteHosts';
import { JobScripts } from './reservationScripts';
import { machineSetting } from './settings';

export interface ClusterState {
  readonly entry: ClusterEntry;
  readonly cluster: SlurmCluster;
  readonly watch: ReservationWatch;
  /** The login node's runner (for ssh-keyscan and the like). */
  readonly login: Runner;
}

export type ReservationNode =
  | { readonly kind: 'cluster'; readonly name: string }
  | { readonly kind: 'reservation'; readonly cluster: string; readonly job: Reservation }
  | { readonly kind: 'message'; readonly cluster: string; readonly text: string; readonly isError: boolean };

const AVAILABILITY_MS = 30_000;

/** GPUs per type as a markdown table: total, in use, free on nodes that take jobs, most on one node. */
function availabilityTable(availability: Availability): string {
  const rows = typeSummaries(availability).map(
    (t) => `| ${t.type} | ${t.total} | ${t.used} | ${t.free} | ${t.perNode} | ${t.nodes} | ${t.states} |`,
  );
  const partitions = availability.partitions
    .map(
      (p) =>
        `${p.name}${p.isDefault ? ' (default)' : ''}: ${p.maxMinutes === null ? 'no limit' : formatSlurmTime(p.maxMinutes)}`,
    )
    .join(', ');
  return rows.length
    ? [
        '| GPU | total | in use | free | per node | nodes | node states |',
        '|---|---|---|---|---|---|---|',
        ...rows,
        '',
        `Partitions: ${partitions}`,
      ].join('\n')
    : 'No GPUs (sinfo lists no gpu GRES).';
}

/** The runner of a login node, made on first use; an unknown host key is offered for trust once. */
class LoginRunner implements Runner {
  private runner: SshRunner | undefined;
  private offered = false;
  constructor(
    private readonly entry: ClusterEntry,
    private readonly local: Runner,
    private readonly log: vscode.LogOutputChannel,
  ) {}
  get label(): string {
    return this.entry.login;
  }
  async run(argv: readonly string[], options?: Parameters<Runner['run']>[1]) {
    if (!this.runner) {
      const created = await createSshRunner({ name: this.entry.name, ssh: this.entry.login }, this.local);
      if ('message' in created) return { exitCode: null, stdout: '', stderr: '', failure: created };
      this.runner = created;
    }
    const result = await this.runner.run(argv, options);
    if (result.untrustedHostKey && !this.offered) {
      this.offered = true;
      if (await askToTrustHostKey(`the login node of "${this.entry.name}"`, result.untrustedHostKey, this.log))
        return this.runner.run(argv, options);
    }
    return result;
  }
  close(): void {
    this.runner?.close();
  }
}

/** The clusters of `gpuDev.clusters` as the Reservations view shows them, each watched while it matters. */
export class Reservations implements vscode.TreeDataProvider<ReservationNode>, vscode.Disposable {
  private clusters: Array<ClusterState & { login: LoginRunner }> = [];
  private problems: string[] = [];
  private readonly warned = new Set<string>();
  private readonly availability = new Map<string, { at: number; text: string | undefined }>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private visible = false;
  /** Show Job Script's read-only documents (gpudev-job:). */
  readonly jobScripts = new JobScripts((name) => this.get(name)?.cluster);

  constructor(
    /** This machine (ssh -G, and ssh itself). */
    readonly local: Runner,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  reload(): void {
    this.disposeClusters();
    const { clusters, problems } = parseClusterEntries(machineSetting('clusters'));
    this.problems = problems;
    problems.forEach((p) => this.log.warn(p));
    if (!vscode.workspace.isTrusted) {
      this.problems.push(
        ...(clusters.length
          ? ['Clusters are not contacted in an untrusted workspace: trust this folder to see reservations']
          : []),
      );
    } else {
      this.clusters = clusters.map((entry) => {
        const login = new LoginRunner(entry, this.local, this.log);
        const cluster = new SlurmCluster(entry.name, login);
        const state = {
          entry,
          cluster,
          login,
          watch: new ReservationWatch(
            cluster,
            (ended) => this.onWatched(state, ended),
            undefined,
            undefined,
            pollSeconds(),
          ),
        } as ClusterState & { login: LoginRunner };
        state.watch.setVisible(this.visible);
        return state;
      });
    }
    // One look at every cluster, view or not: reservations made earlier get their expiry warnings and an
    // unfinished race its settling; clusters without any then rest until the view shows (see sync).
    this.clusters.forEach((c) => c.watch.start());
    this.changed.fire();
  }

  get(name: string): ClusterState | undefined {
    return this.clusters.find((c) => c.entry.name === name);
  }

  names(): string[] {
    return this.clusters.map((c) => c.entry.name);
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    this.clusters.forEach((c) => c.watch.setVisible(visible));
    this.sync();
  }

  /** gpuDev.reservations.pollSeconds changed. */
  setPollSeconds(seconds: number): void {
    this.clusters.forEach((c) => c.watch.setPollSeconds(seconds));
  }

  /** Watched while the view shows, or while a reservation is known (its expiry warnings must come). */
  private sync(): void {
    for (const c of this.clusters) {
      if (this.visible || c.watch.reservations.length) c.watch.start();
      else c.watch.stop();
    }
  }

  private onWatched(state: ClusterState, ended: readonly EndedJob[]): void {
    for (const job of ended)
      void vscode.window.showInformationMessage(
        `Reservation ${job.jobId} (${job.name}) on ${state.entry.name} ended: ${job.state}.`,
      );
    const elapsed = (Date.now() - state.watch.sampledAt) / 60_000;
    for (const { job, minutesLeft } of dueWarnings(state.watch.reservations, this.warned, elapsed)) {
      void vscode.window
        .showWarningMessage(
          `Reservation ${job.jobId} on ${state.entry.name} ends in ${Math.round(minutesLeft)} min${job.nodes ? ` (${job.nodes})` : ''}.`,
          'Extend…',
          'Cancel Now',
        )
        .then((choice) => {
          if (choice === 'Cancel Now')
            void vscode.commands.executeCommand('gpuDev.cancelReservation', {
              kind: 'reservation',
              cluster: state.entry.name,
              job,
            });
          if (choice === 'Extend…') {
            void vscode.window.showInformationMessage(
              "Slurm lets users shorten a job's time limit, not extend it (scontrol update TimeLimit needs an operator). Ask your administrators, or reserve again before this one ends.",
              { modal: true },
            );
          }
        });
    }
    hardwareWarnings(state, this.warned, () => state.watch.refresh());
    this.sync();
    this.changed.fire();
  }

  refresh(): void {
    this.clusters.forEach((c) => c.watch.refresh());
  }

  getChildren(node?: ReservationNode): ReservationNode[] {
    if (!node) {
      return [
        ...this.clusters.map((c): ReservationNode => ({ kind: 'cluster', name: c.entry.name })),
        ...this.problems.map((text): ReservationNode => ({ kind: 'message', cluster: '', text, isError: true })),
      ];
    }
    if (node.kind !== 'cluster') return [];
    const state = this.get(node.name);
    if (!state) return [];
    const jobs = state.watch.reservations.map((job): ReservationNode => ({
      kind: 'reservation',
      cluster: node.name,
      job,
    }));
    const error: GpuDevError | undefined = state.watch.error;
    if (error)
      jobs.unshift({ kind: 'message', cluster: node.name, text: `${describeError(error)} — retrying`, isError: true });
    if (!jobs.length)
      jobs.push({
        kind: 'message',
        cluster: node.name,
        text: state.watch.sampledAt ? 'No gpudev reservations' : 'Asking squeue…',
        isError: false,
      });
    return jobs;
  }

  /** GPUs per type on the cluster, for the cluster's tooltip: read with sinfo at most every 30 s. */
  private availabilityOf(state: ClusterState & { login: LoginRunner }): string | undefined {
    const cached = this.availability.get(state.entry.name);
    if (!cached || Date.now() - cached.at > AVAILABILITY_MS) {
      this.availability.set(state.entry.name, { at: Date.now(), text: cached?.text });
      void state.cluster.availability().then((found) => {
        const text = 'message' in found ? `sinfo: ${describeError(found)}` : availabilityTable(found);
        this.availability.set(state.entry.name, { at: Date.now(), text });
        if (text !== cached?.text) this.changed.fire();
      });
    }
    return cached?.text;
  }

  getTreeItem(node: ReservationNode): vscode.TreeItem {
    if (node.kind === 'cluster') {
      const state = this.clusters.find((c) => c.entry.name === node.name)!;
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `cluster/${node.name}`;
      item.description = `slurm · ${state.entry.login}`;
      const availability = this.availabilityOf(state);
      item.tooltip = new vscode.MarkdownString(
        `**${node.name}** (Slurm, login ${state.entry.login})\n\n${availability ?? 'GPUs: asking sinfo…'}`,
      );
      item.iconPath = new vscode.ThemeIcon('server-environment');
      item.contextValue = 'cluster';
      return item;
    }
    if (node.kind === 'message') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.isError ? 'warning' : 'info');
      return item;
    }
    const { job } = node;
    const row = jobRow(job);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = `reservation/${node.cluster}/${job.jobId}`;
    item.description = row.description;
    const reason = describeReason(job.state, job.reason);
    item.tooltip = [
      `Job ${job.jobId} (${job.name}) on ${node.cluster}`,
      `${job.state}${job.nodes ? ` on ${job.nodes}` : ''}`,
      `${job.gres} in ${job.partition}`,
      `Time left: ${job.timeLeft}`,
      ...(reason ? [`Why: ${reason}${reason.includes(job.reason) ? '' : ` (Slurm: ${job.reason})`}`] : []),
      ...jobTooltipLines(job),
      ...(job.clusterZone ? [`Times in this machine's zone; the cluster's is ${zoneName(job.clusterZone)}`] : []),
    ].join('\n');
    item.iconPath = new vscode.ThemeIcon(
      job.state === 'RUNNING' ? 'pass-filled' : job.state === 'PENDING' ? 'clock' : 'circle-outline',
    );
    item.contextValue = `reservation.${job.state.toLowerCase()}`;
    return item;
  }

  private disposeClusters(): void {
    for (const c of this.clusters) {
      c.watch.stop();
      c.login.close();
    }
    this.clusters = [];
  }

  dispose(): void {
    this.disposeClusters();
    this.changed.dispose();
    this.jobScripts.dispose();
  }
}
