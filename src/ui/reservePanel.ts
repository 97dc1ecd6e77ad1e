import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { PanelPlans } from '../reserve/panelPlans';
import { formatSlurmTime, parseDuration } from '../reserve/duration';
import type { ProbedStrategy } from '../reserve/slurm/strategies';
import { typeSummaries } from '../reserve/slurm/sinfo';
import {
  FromReserveWebviewSchema,
  ToReserveWebviewSchema,
  type FromReserveWebview,
  type ToReserveWebview,
} from '../../webviews/protocol';
import { localTime, zoneName } from '../reserve/slurm/clusterClock';
import { catalogAliases } from './cosplayModule';
import type { ClusterState, Reservations } from './reservations';
import { webviewHtml, webviewOptions } from './webviewHtml';

type PlanMessage = Extract<FromReserveWebview, { type: 'plan' }>;
export type ReservePrefill = NonNullable<Extract<ToReserveWebview, { type: 'clusters' }>['prefill']>;

/** The reservation panel: the form, the cluster's GPUs, a dry run's strategies, Submit and Race. One at a time. */
export class ReservePanel {
  private static current: ReservePanel | undefined;

  /** `prefill`: the form's values from the workspace's `.gpudev.yaml`, for "Reserve GPUs for the Workspace". */
  static show(
    extensionUri: vscode.Uri,
    reservations: Reservations,
    log: vscode.LogOutputChannel,
    prefill?: ReservePrefill,
  ): void {
    if (ReservePanel.current) {
      ReservePanel.current.prefill = prefill;
      if (prefill) void ReservePanel.current.handle({ type: 'ready' });
      return ReservePanel.current.panel.reveal();
    }
    ReservePanel.current = new ReservePanel(extensionUri, reservations, log);
    ReservePanel.current.prefill = prefill;
  }

  private prefill: ReservePrefill | undefined;

  /** The panel VS Code brings back after a reload: a fresh form (a dry run's table is never restored stale). */
  static restore(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    reservations: Reservations,
    log: vscode.LogOutputChannel,
  ): void {
    if (ReservePanel.current) return void panel.dispose();
    ReservePanel.current = new ReservePanel(extensionUri, reservations, log, panel);
  }

  private readonly panel: vscode.WebviewPanel;
  /** The dry runs: the one whose table is on screen is the only one Submit and Race act on, once. */
  private readonly plans = new PanelPlans<{ request: PlanMessage; strategies: ProbedStrategy[] }>();

  private constructor(
    extensionUri: vscode.Uri,
    private readonly reservations: Reservations,
    private readonly log: vscode.LogOutputChannel,
    panel?: vscode.WebviewPanel,
  ) {
    const options = { ...webviewOptions(extensionUri), retainContextWhenHidden: true };
    if (panel) panel.webview.options = options;
    this.panel =
      panel ?? vscode.window.createWebviewPanel('gpuDev.reserve', 'Reserve GPUs', vscode.ViewColumn.Active, options);
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gpu.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, {
      title: 'Reserve GPUs',
      script: 'reserve.js',
      styles: ['media/reserve.css'],
    });
    this.panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = FromReserveWebviewSchema.safeParse(raw);
      if (!message.success)
        return log.warn(
          `reservation webview sent an invalid message: ${message.error.issues[0]?.message ?? 'unknown'}`,
        );
      void this.handle(message.data);
    });
    // A job starting or ending changes what is free: the table follows the queue the Reservations view watches.
    const followQueue = reservations.onDidChangeTreeData(() => this.followQueue());
    this.panel.onDidDispose(() => {
      followQueue.dispose();
      clearTimeout(this.followTimer);
      ReservePanel.current = undefined;
    });
  }

  /** The cluster whose GPUs the panel shows. */
  private cluster: string | undefined;
  private followTimer: NodeJS.Timeout | undefined;

  /** Reads the cluster's GPUs again a second after the queue changed (one read for a burst of changes). */
  private followQueue(): void {
    if (!this.cluster || this.followTimer) return;
    this.followTimer = setTimeout(() => {
      this.followTimer = undefined;
      if (this.cluster) void this.showAvailability(this.cluster);
    }, 1000);
  }

  private post(message: ToReserveWebview): void {
    void this.panel.webview.postMessage(ToReserveWebviewSchema.parse(message));
  }

  private result(ok: boolean, message: string): void {
    this.post({ type: 'result', ok, message });
  }

  private async handle(message: FromReserveWebview): Promise<void> {
    if (message.type === 'ready') {
      const clusters = this.reservations.names().map((name) => this.reservations.get(name)!);
      this.post({
        type: 'clusters',
        clusters: clusters.map((c) => ({
          name: c.entry.name,
          login: c.entry.login,
          partitions: c.entry.partitions ?? [],
        })),
        ...(this.prefill && { prefill: this.prefill }),
      });
    } else if (message.type === 'selectCluster') {
      this.plans.begin(); // a table of another cluster submits nothing here
      await this.showAvailability(message.cluster);
    } else if (message.type === 'plan') await this.plan(message);
    else if (message.type === 'submit') await this.submit(message.plan, message.index);
    else await this.race(message.plan);
  }

  private async showAvailability(cluster: string): Promise<void> {
    this.cluster = cluster;
    const state = this.reservations.get(cluster);
    if (!state) return;
    const found = await state.cluster.availability();
    this.post(
      'message' in found
        ? { type: 'availability', cluster, error: describeError(found), rows: [], partitions: [] }
        : {
            type: 'availability',
            cluster,
            error: null,
            rows: typeSummaries(found),
            partitions: found.partitions.map((p) => ({
              name: p.name,
              isDefault: p.isDefault,
              limit: p.maxMinutes === null ? 'no limit' : formatSlurmTime(p.maxMinutes),
            })),
          },
    );
  }

  private async plan(message: PlanMessage): Promise<void> {
    const id = this.plans.begin();
    const state = this.reservations.get(message.cluster);
    const minutes = parseDuration(message.time);
    if (!state) return this.result(false, `No cluster ${message.cluster}`);
    if (typeof minutes === 'string') return this.result(false, minutes);
    const request = {
      types: message.types
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      count: message.count,
      minutes,
      ...(message.partition && { partition: message.partition }),
      ...(message.nodes !== null && { nodes: message.nodes }),
      ...(state.entry.account && { account: state.entry.account }),
    };
    const strategies = await state.cluster.plan(request, state.entry.costWeights, catalogAliases);
    if ('message' in strategies) return this.result(false, describeError(strategies));
    if (!this.plans.settle(id, { request: message, strategies })) return;
    this.log.info(`${message.cluster}: dry run, ${strategies.length} strategies`);
    this.post({
      type: 'strategies',
      plan: id,
      race: raceSize(strategies),
      summary: `${message.count} GPU(s) for ${formatSlurmTime(minutes)} on ${message.cluster}: nothing was submitted.`,
      rows: strategies.map((s, index) => ({
        index,
        gpus: `${s.nodes} × ${s.perNode} ${s.type}${s.gpu ? ` (${s.gpu})` : ''}`,
        partition: s.partition,
        node: s.nodeList ?? '',
        cost: s.cost.toFixed(1),
        startable: s.when !== 'never',
        // Read in the cluster's zone, shown in this machine's (the zone said after).
        start:
          s.when === 'now'
            ? 'now'
            : s.start
              ? `${localTime(s.start)}${s.clusterZone ? ` (cluster ${zoneName(s.clusterZone)})` : ''}`
              : '',
        reason: s.reason ?? '',
      })),
    });
  }

  private async submit(id: number, index: number): Promise<void> {
    const planned = this.plans.take(id);
    if ('refused' in planned) return this.result(false, planned.refused);
    const strategy = planned.strategies[index];
    const state = this.reservations.get(planned.request.cluster);
    if (!strategy || !state || strategy.when === 'never') {
      this.plans.finish(id, undefined);
      return this.result(false, strategy ? `That strategy cannot run: ${strategy.reason ?? ''}` : 'No such strategy.');
    }
    const jobId = await state.cluster.submit(
      strategy,
      `${strategy.type}x${strategy.nodes * strategy.perNode}`,
      state.entry.scratch,
      state.entry.attach === 'job-sshd',
    );
    this.plans.finish(id, typeof jobId === 'string' ? [jobId] : undefined);
    if (typeof jobId !== 'string') return this.result(false, `Submitting failed: ${describeError(jobId)}`);
    this.log.info(`${state.entry.name}: submitted job ${jobId} from the panel`);
    this.post({
      type: 'submitted',
      plan: id,
      message: `Submitted job ${jobId}: ${strategy.nodes} × ${strategy.perNode} ${strategy.type} in ${strategy.partition} for ${formatSlurmTime(strategy.minutes)} on ${state.entry.name}. It shows in the Reservations view.`,
      summary: `Strategy ${index + 1} was submitted as job ${jobId}. Dry Run again to reserve more.`,
    });
    this.afterSubmit(state);
  }

  private async race(id: number): Promise<void> {
    const planned = this.plans.take(id);
    if ('refused' in planned) return this.result(false, planned.refused);
    const state = this.reservations.get(planned.request.cluster);
    const count = raceSize(planned.strategies);
    if (!state || count < 2) {
      this.plans.finish(id, undefined);
      return this.result(false, 'A race needs at least 2 strategies that can start.');
    }
    const raced = await state.cluster.race(
      planned.strategies,
      `x${planned.request.count}`,
      count,
      state.entry.scratch,
      state.entry.attach === 'job-sshd',
    );
    this.plans.finish(id, 'message' in raced ? undefined : raced.jobIds);
    if ('message' in raced) return this.result(false, `Racing failed: ${describeError(raced)}`);
    this.post({
      type: 'submitted',
      plan: id,
      message: `Racing jobs ${raced.jobIds.join(', ')} on ${state.entry.name}: the first to start wins, the others are cancelled.`,
      summary: `The top ${count} were submitted as jobs ${raced.jobIds.join(', ')}. Dry Run again to reserve more.`,
    });
    this.afterSubmit(state);
  }

  /** The Reservations view and the panel's GPUs table show the new jobs. */
  private afterSubmit(state: ClusterState): void {
    state.watch.refresh();
    this.reservations.setVisible(true);
    void this.showAvailability(state.entry.name);
  }
}

/** How many a race submits: the top startable strategies, at most 3; 0 when fewer than 2 can start. */
function raceSize(strategies: readonly ProbedStrategy[]): number {
  const startable = strategies.filter((s) => s.when !== 'never').length;
  return startable >= 2 ? Math.min(3, startable) : 0;
}
