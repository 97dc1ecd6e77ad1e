import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { formatSlurmTime, parseDuration } from '../reserve/duration';
import type { ProbedStrategy } from '../reserve/slurm/strategies';
import { typeSummaries } from '../reserve/slurm/sinfo';
import {
  FromReserveWebviewSchema,
  ToReserveWebviewSchema,
  type FromReserveWebview,
  type ToReserveWebview,
} from '../../webviews/protocol';
import { catalogAliases } from './cosplayCommands';
import type { Reservations } from './reservations';
import { webviewHtml, webviewOptions } from './webviewHtml';

type PlanMessage = Extract<FromReserveWebview, { type: 'plan' }>;

/** The reservation panel: the form, the cluster's GPUs, a dry run's strategies, Submit and Race. One at a time. */
export class ReservePanel {
  private static current: ReservePanel | undefined;

  static show(extensionUri: vscode.Uri, reservations: Reservations, log: vscode.LogOutputChannel): void {
    if (ReservePanel.current) return ReservePanel.current.panel.reveal();
    ReservePanel.current = new ReservePanel(extensionUri, reservations, log);
  }

  private readonly panel: vscode.WebviewPanel;
  /** The last dry run: its request and ranked strategies, which Submit and Race act on. */
  private planned: { request: PlanMessage; strategies: ProbedStrategy[] } | undefined;

  private constructor(
    extensionUri: vscode.Uri,
    private readonly reservations: Reservations,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.panel = vscode.window.createWebviewPanel('gpuDev.reserve', 'Reserve GPUs', vscode.ViewColumn.Active, {
      ...webviewOptions(extensionUri),
      retainContextWhenHidden: true,
    });
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
    this.panel.onDidDispose(() => {
      ReservePanel.current = undefined;
    });
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
      });
    } else if (message.type === 'selectCluster') {
      const state = this.reservations.get(message.cluster);
      if (!state) return;
      const found = await state.cluster.availability();
      this.post(
        'message' in found
          ? { type: 'availability', cluster: message.cluster, error: describeError(found), rows: [], partitions: [] }
          : {
              type: 'availability',
              cluster: message.cluster,
              error: null,
              rows: typeSummaries(found),
              partitions: found.partitions.map((p) => ({
                name: p.name,
                isDefault: p.isDefault,
                limit: p.maxMinutes === null ? 'no limit' : formatSlurmTime(p.maxMinutes),
              })),
            },
      );
    } else if (message.type === 'plan') await this.plan(message);
    else if (message.type === 'submit') await this.submit(message.index);
    else await this.race();
  }

  private async plan(message: PlanMessage): Promise<void> {
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
    if ('message' in strategies) {
      this.planned = undefined;
      return this.result(false, describeError(strategies));
    }
    this.planned = { request: message, strategies };
    this.log.info(`${message.cluster}: dry run, ${strategies.length} strategies`);
    this.post({
      type: 'strategies',
      summary: `${message.count} GPU(s) for ${formatSlurmTime(minutes)} on ${message.cluster}: nothing was submitted.`,
      rows: strategies.map((s, index) => ({
        index,
        gpus: `${s.nodes} × ${s.perNode} ${s.type}`,
        partition: s.partition,
        node: s.nodeList ?? '',
        cost: s.cost.toFixed(1),
        startable: s.when !== 'never',
        start: s.when === 'now' ? 'now' : s.start ? s.start.toLocaleString() : '',
        reason: s.reason ?? '',
      })),
    });
  }

  private async submit(index: number): Promise<void> {
    const strategy = this.planned?.strategies[index];
    const state = this.planned && this.reservations.get(this.planned.request.cluster);
    if (!strategy || !state) return this.result(false, 'Run a dry run first.');
    const jobId = await state.cluster.submit(
      strategy,
      `${strategy.type}x${strategy.nodes * strategy.perNode}`,
      state.entry.scratch,
      state.entry.attach === 'job-sshd',
    );
    if (typeof jobId !== 'string') return this.result(false, `Submitting failed: ${describeError(jobId)}`);
    this.log.info(`${state.entry.name}: submitted job ${jobId} from the panel`);
    this.result(
      true,
      `Submitted job ${jobId}: ${strategy.nodes} × ${strategy.perNode} ${strategy.type} in ${strategy.partition}. It shows in the Reservations view.`,
    );
    state.watch.refresh();
    this.reservations.setVisible(true);
  }

  private async race(): Promise<void> {
    const state = this.planned && this.reservations.get(this.planned.request.cluster);
    if (!this.planned || !state) return this.result(false, 'Run a dry run first.');
    const raced = await state.cluster.race(
      this.planned.strategies,
      `x${this.planned.request.count}`,
      3,
      state.entry.scratch,
      state.entry.attach === 'job-sshd',
    );
    if ('message' in raced) return this.result(false, `Racing failed: ${describeError(raced)}`);
    this.result(true, `Racing jobs ${raced.jobIds.join(', ')}: the first to start wins, the others are cancelled.`);
    state.watch.refresh();
    this.reservations.setVisible(true);
  }
}
