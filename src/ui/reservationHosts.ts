// Every running reservation's node as a host of the GPUs view (and the gauge's host list): reached
// through the login node's ProxyJump, or the job's own sshd (attach: job-sshd), its GPUs streamed like
// any SSH host's. Clusters with attach: srun have no sshd on their nodes to reach, so none of theirs.
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { probeGpus, type GpusResult, type ProbeResult } from '../hosts/gpuProbe';
import { streamGpus } from '../hosts/gpuStream';
import type { Runner } from '../hosts/runner';
import type { SshRunner } from '../hosts/sshRunner';
import { GpuMonitor } from '../monitor/gpuMonitor';
import { firstNode } from '../reserve/attach';
import { reservationNodeRunner } from '../reserve/nodeRunner';
import type { Reservation } from '../reserve/slurm/cluster';
import { ourSshConfigFile } from './reservationAttach';
import type { ClusterState, Reservations } from './reservations';

interface NodeHost {
  readonly key: string;
  readonly name: string;
  readonly cluster: ClusterState;
  readonly job: Reservation;
  readonly monitor: GpuMonitor;
  runner?: SshRunner;
  /** The node's keys under its own name, for this connection only: removed with the host. */
  knownHostsFile?: string;
}

/** "hpc job 4242 (gpu07)": what the GPUs view calls a reservation's node. */
export const reservationHostName = (cluster: string, job: Reservation) =>
  `${cluster} job ${job.jobId} (${firstNode(job.nodes) ?? job.nodes})`;

export class ReservationHosts implements vscode.Disposable {
  private hosts: NodeHost[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly reservations: Reservations,
    private readonly local: Runner,
    private readonly log: vscode.LogOutputChannel,
    private readonly intervalMs: () => number,
    private readonly wantsProcesses: () => boolean,
  ) {
    this.subscription = reservations.onDidChangeTreeData(() => this.sync());
  }

  list(): Array<{ name: string; monitor: GpuMonitor }> {
    return this.hosts.map((h) => ({ name: h.name, monitor: h.monitor }));
  }

  runnerOf(name: string): SshRunner | undefined {
    return this.hosts.find((h) => h.name === name)?.runner;
  }

  /** The reservation whose node the GPUs view shows as `name`. */
  jobOf(name: string): { readonly cluster: string; readonly job: Reservation } | undefined {
    const host = this.hosts.find((h) => h.name === name);
    return host && { cluster: host.cluster.entry.name, job: host.job };
  }

  /** Follows the watches: a host for each running reservation with a node, gone when the job is. */
  private sync(): void {
    const wanted = this.reservations.names().flatMap((name) => {
      const cluster = this.reservations.get(name)!;
      if (cluster.entry.attach === 'srun') return [];
      return cluster.watch.reservations
        .filter((job) => job.state === 'RUNNING' && firstNode(job.nodes))
        .map((job) => ({ key: `${name}/${job.jobId}/${job.nodes}`, cluster, job }));
    });
    const keep = this.hosts.filter((h) => wanted.some((w) => w.key === h.key));
    for (const gone of this.hosts.filter((h) => !keep.includes(h))) this.close(gone);
    const fresh = wanted.filter((w) => !keep.some((h) => h.key === w.key)).map((w) => this.host(w));
    const before = this.hosts.length;
    this.hosts = [...keep, ...fresh];
    if (fresh.length || this.hosts.length !== before) this.changed.fire();
  }

  private host(w: { key: string; cluster: ClusterState; job: Reservation }): NodeHost {
    const monitor = new GpuMonitor((fresh) => this.probe(host, fresh), this.intervalMs(), this.log, {
      startStream: (intervalMs, expected, handlers) =>
        host.runner && streamGpus(host.runner, intervalMs, expected, handlers),
      wantsProcesses: this.wantsProcesses,
    });
    const host: NodeHost = { ...w, name: reservationHostName(w.cluster.entry.name, w.job), monitor };
    return host;
  }

  private async probe(host: NodeHost, fresh?: GpusResult): Promise<ProbeResult> {
    if (!host.runner) {
      const { entry, login } = host.cluster;
      const node = await reservationNodeRunner(
        {
          cluster: entry.name,
          login: entry.login,
          jobId: host.job.jobId,
          nodes: host.job.nodes,
          configFile: ourSshConfigFile(),
          mode: entry.attach === 'job-sshd' ? 'job-sshd' : 'proxyjump',
        },
        login,
        this.local,
        undefined,
        host.name,
      );
      if ('message' in node) return { kind: 'error', host: host.name, error: node, at: Date.now(), retry: false };
      host.runner = node.runner;
      host.knownHostsFile = node.jobKnownHosts;
    }
    return probeGpus(host.runner, { processes: this.wantsProcesses(), fresh });
  }

  private close(host: NodeHost): void {
    host.monitor.dispose();
    host.runner?.close();
    if (host.knownHostsFile) void fs.rm(host.knownHostsFile, { force: true });
  }

  dispose(): void {
    this.subscription.dispose();
    // The hosts' known_hosts files stay for the next window (their jobs may still run).
    for (const h of this.hosts) {
      h.monitor.dispose();
      h.runner?.close();
    }
    this.hosts = [];
    this.changed.dispose();
  }
}
