import * as vscode from 'vscode';
import { describeError, type GpuDevError } from '../core/errors';
import { describeGpu, formatGiB, memoryPercent, shortGpuName, type GpuProcess, type GpuSample } from '../hosts/gpu';
import type { ProbeResult } from '../hosts/gpuProbe';
import { LOCAL_HOST } from '../hosts/runner';
import { simulatedNote } from '../hosts/sshHosts';
import { gaugeLevel, type GaugeThresholds } from '../monitor/gauge';
import { sessionGpusText, type Session } from '../cosplay/session';
import type { ForeignContainer } from '../cosplay/sessions';
import { onAnySample, type HostList } from './hostList';
import { gpuRow } from '../monitor/gpuRow';
import { isSimulatedHost } from './settings';
import { hostStatus } from '../monitor/hostStatus';

export type GpuTreeNode =
  | {
      readonly kind: 'host';
      readonly name: string;
      readonly result: ProbeResult | undefined;
      readonly description: string | undefined;
    }
  | { readonly kind: 'gpu'; readonly host: string; readonly gpu: GpuSample }
  | { readonly kind: 'process'; readonly host: string; readonly gpu: number; readonly process: GpuProcess }
  | {
      readonly kind: 'session';
      readonly host: string;
      readonly gpu: number;
      readonly session: Session;
      readonly verified: string | undefined;
    }
  | { readonly kind: 'foreign'; readonly host: string; readonly container: ForeignContainer }
  | {
      readonly kind: 'message';
      readonly host: string;
      readonly error: GpuDevError;
      readonly isError: boolean;
      readonly command?: vscode.Command;
    };

const LEVEL_COLORS = { normal: undefined, warning: 'charts.yellow', error: 'charts.red' } as const;

function gpuTooltip(host: string, gpu: GpuSample): vscode.MarkdownString {
  const rows = describeGpu(gpu).map(([label, value]) => `| ${label} | ${value.replace(/\|/g, '\\|')} |`);
  const markdown = new vscode.MarkdownString([`**${host}**`, '', '| Field | Value |', '|---|---|', ...rows].join('\n'));
  markdown.supportHtml = false;
  return markdown;
}

/** The cosplay sessions the tree shows under each GPU. */
export interface SessionSource {
  on(host: string, gpu: GpuSample): readonly Session[];
  foreignOn(host: string): readonly ForeignContainer[];
  verifySummary(session: string): string | undefined;
  readonly onDidChange: vscode.Event<void>;
}

function age(createdMs: number, now: number): string {
  const minutes = Math.max(0, Math.round((now - createdMs) / 60_000));
  return minutes < 60
    ? `${minutes} min`
    : minutes < 48 * 60
      ? `${Math.floor(minutes / 60)} h ${minutes % 60} min`
      : `${Math.floor(minutes / 1440)} days`;
}

/** Each host → one item per GPU, or one honest item saying why there is none. */
export class GpuTreeProvider implements vscode.TreeDataProvider<GpuTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private lastRendered = '';
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly hosts: HostList,
    private readonly thresholds: () => GaugeThresholds,
    private readonly sessions: SessionSource,
  ) {
    this.subscriptions = [
      onAnySample(hosts, () => this.render()),
      hosts.onDidChange(() => this.render(true)),
      sessions.onDidChange(() => this.render(true)),
    ];
    this.render(true);
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }

  /** Fires a tree update only when something shown changed (samples arrive every interval). */
  private render(force = false): void {
    const shown = this.rootNodes().map((node) =>
      node.kind === 'host' ? { ...node, result: node.result && { ...node.result, at: 0 } } : node,
    );
    const rendered = JSON.stringify(shown);
    if (!force && rendered === this.lastRendered) return;
    this.lastRendered = rendered;
    this.changed.fire();
  }

  /** Hosts (this machine once sampled, so the welcome text shows until then; SSH hosts at once, "connecting…") and notices. */
  private rootNodes(): GpuTreeNode[] {
    const now = Date.now();
    const hosts = this.hosts
      .hosts()
      .map(({ name, monitor }): GpuTreeNode => {
        const status = hostStatus(monitor.snapshot, monitor.lastGood, now, monitor.interval);
        return { kind: 'host', name, result: status.shown, description: status.description };
      })
      .filter((host, i) => i > 0 || (host.kind === 'host' && host.result));
    const notices = this.hosts
      .notices()
      .map((error): GpuTreeNode => ({ kind: 'message', host: 'notice', error, isError: true }));
    return [...hosts, ...notices];
  }

  getChildren(node?: GpuTreeNode): GpuTreeNode[] {
    if (!node) return this.rootNodes();
    if (node.kind === 'gpu') {
      const sessions = this.sessions.on(node.host, node.gpu).map((session): GpuTreeNode => ({
        kind: 'session',
        host: node.host,
        gpu: node.gpu.index,
        session,
        verified: this.sessions.verifySummary(session.name),
      }));
      return [
        ...sessions,
        ...(node.gpu.processes ?? []).map((process): GpuTreeNode => ({
          kind: 'process',
          host: node.host,
          gpu: node.gpu.index,
          process,
        })),
      ];
    }
    if (node.kind !== 'host' || !node.result) return [];
    const host = node.result.host;
    if (node.result.kind !== 'gpus') {
      const key = node.result.kind === 'error' && node.result.untrustedHostKey;
      const command = key
        ? { command: 'gpuDev.reviewHostKey', title: 'Review Host Key', arguments: [host] }
        : undefined;
      return [{ kind: 'message', host, error: node.result.error, isError: node.result.kind === 'error', command }];
    }
    if (node.result.gpus.length === 0)
      return [{ kind: 'message', host, error: { message: 'No NVIDIA GPU: nvidia-smi lists none' }, isError: false }];
    const foreign = this.sessions
      .foreignOn(node.name)
      .map((container): GpuTreeNode => ({ kind: 'foreign', host: node.name, container }));
    return [...node.result.gpus.map((gpu): GpuTreeNode => ({ kind: 'gpu', host, gpu })), ...foreign];
  }

  getTreeItem(node: GpuTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'host': {
        const item = new vscode.TreeItem(
          node.name,
          node.result ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
        );
        // A different id once sampled: VS Code would otherwise keep the collapsed state of "connecting…".
        item.id = `host/${node.name}/${node.result ? 'sampled' : 'connecting'}`;
        item.iconPath = new vscode.ThemeIcon(node.name === LOCAL_HOST ? 'vm' : 'remote');
        item.contextValue = node.name === LOCAL_HOST ? 'host' : 'remoteHost';
        item.description = node.description;
        if (node.name !== LOCAL_HOST && isSimulatedHost(node.name)) {
          item.description = [node.description, 'simulated'].filter(Boolean).join(' · ');
          item.tooltip = simulatedNote(node.name);
        }
        return item;
      }
      case 'gpu': {
        const cosplayed = this.sessions.on(node.host, node.gpu).length > 0;
        const busy = (node.gpu.processes?.length ?? 0) > 0;
        const state = cosplayed
          ? vscode.TreeItemCollapsibleState.Expanded
          : busy
            ? vscode.TreeItemCollapsibleState.Collapsed
            : vscode.TreeItemCollapsibleState.None;
        const row = gpuRow(node.gpu);
        const item = new vscode.TreeItem(row.label, state);
        item.id = `gpu/${node.host}/${node.gpu.uuid ?? node.gpu.index}${cosplayed ? '/cosplayed' : ''}`;
        item.description = row.description;
        item.tooltip = gpuTooltip(node.host, node.gpu);
        const color = LEVEL_COLORS[gaugeLevel(memoryPercent(node.gpu), this.thresholds())];
        item.iconPath = new vscode.ThemeIcon('chip', color ? new vscode.ThemeColor(color) : undefined);
        item.contextValue = node.host === LOCAL_HOST ? 'gpu' : 'remoteGpu';
        item.command = { command: 'gpuDev.showGpuDetails', title: 'Show GPU Details', arguments: [node] };
        return item;
      }
      case 'process': {
        const { pid, name, usedMemoryMiB } = node.process;
        const item = new vscode.TreeItem(name.split('/').pop() || name, vscode.TreeItemCollapsibleState.None);
        item.id = `process/${node.host}/${node.gpu}/${pid}`;
        item.description = `pid ${pid}${usedMemoryMiB === null ? '' : ` · ${formatGiB(usedMemoryMiB)} GiB`}`;
        item.tooltip = `${name}\npid ${pid} on GPU ${node.gpu} of ${node.host}${usedMemoryMiB === null ? '' : `\n${usedMemoryMiB} MiB of GPU memory`}`;
        item.iconPath = new vscode.ThemeIcon('server-process');
        item.contextValue = 'process';
        return item;
      }
      case 'session': {
        const { session } = node;
        const item = new vscode.TreeItem(shortGpuName(session.plan.targetName), vscode.TreeItemCollapsibleState.None);
        // A session of several GPUs is shown under each: one item per GPU.
        item.id = `session/${node.host}/${session.name}${session.gpus ? `/gpu${node.gpu}` : ''}`;
        const state = session.unrestored
          ? 'stopped — host not restored'
          : session.running
            ? age(session.createdMs, Date.now())
            : `orphan (container ${session.state})`;
        item.description = [node.verified, 'cosplay', state].filter(Boolean).join(' · ');
        item.tooltip = [
          session.name,
          `${session.plan.targetName} on ${session.plan.host} (${session.plan.strategy}), ${sessionGpusText(session)} of ${node.host}`,
          `Applied by ${session.owner}${session.journal === 'root' ? ' with sudo' : ''}; container ${session.state}`,
          ...(session.unrestored
            ? [`Host not restored: ${session.unrestored} — Retry Restore tries again`]
            : !session.running
              ? ['Its host changes are still in place: Clean Up Orphans restores them']
              : []),
          ...(session.changes.length ? [`Changed: ${session.changes.join('; ')}`] : []),
          ...(node.verified ? [`Last verify: ${node.verified}`] : []),
        ].join('\n');
        item.iconPath = new vscode.ThemeIcon(
          session.running ? 'vm-running' : 'vm-outline',
          session.running
            ? undefined
            : new vscode.ThemeColor(
                session.unrestored ? 'problemsErrorIcon.foreground' : 'problemsWarningIcon.foreground',
              ),
        );
        item.contextValue = session.unrestored
          ? 'cosplaySessionUnrestored'
          : session.running
            ? 'cosplaySession'
            : 'cosplaySessionStopped';
        return item;
      }
      case 'foreign': {
        const { container } = node;
        const item = new vscode.TreeItem(`foreign container ${container.name}`, vscode.TreeItemCollapsibleState.None);
        item.id = `foreign/${node.host}/${container.id}`;
        item.description = container.state;
        item.tooltip = `${container.name} carries gpudev labels, but ${container.why}. Nothing is ever restored from it; remove it by hand if it is not wanted (docker rm -f ${container.name}).`;
        item.iconPath = new vscode.ThemeIcon('question', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.contextValue = 'foreignContainer';
        return item;
      }
      case 'message': {
        // "No NVIDIA GPU: nvidia-smi not found" → label "No NVIDIA GPU", description "nvidia-smi not found".
        const [label, ...detail] = node.error.message.split(': ');
        const item = new vscode.TreeItem(label!, vscode.TreeItemCollapsibleState.None);
        item.description = detail.join(': ');
        item.id = `message/${node.host}/${node.error.message}`;
        item.iconPath = new vscode.ThemeIcon(node.isError ? 'warning' : 'info');
        item.tooltip = describeError(node.error);
        item.command = node.command;
        return item;
      }
    }
  }
}
