import * as vscode from 'vscode';
import { describeError, type GpuDevError } from '../core/errors';
import { describeGpu, memoryPercent, shortGpuName, summarizeGpu, type GpuSample } from '../hosts/gpu';
import type { ProbeResult } from '../hosts/gpuProbe';
import { gaugeLevel, type GaugeThresholds } from '../monitor/gauge';
import type { GpuMonitor } from '../monitor/gpuMonitor';

export type GpuTreeNode =
  | { readonly kind: 'host'; readonly result: ProbeResult }
  | { readonly kind: 'gpu'; readonly host: string; readonly gpu: GpuSample }
  | { readonly kind: 'message'; readonly host: string; readonly error: GpuDevError; readonly isError: boolean };

const LEVEL_COLORS = { normal: undefined, warning: 'charts.yellow', error: 'charts.red' } as const;

function gpuTooltip(host: string, gpu: GpuSample): vscode.MarkdownString {
  const rows = describeGpu(gpu).map(([label, value]) => `| ${label} | ${value.replace(/\|/g, '\\|')} |`);
  const markdown = new vscode.MarkdownString([`**${host}**`, '', '| Field | Value |', '|---|---|', ...rows].join('\n'));
  markdown.supportHtml = false;
  return markdown;
}

/** "This machine" → one item per GPU, or one honest item saying why there is none. */
export class GpuTreeProvider implements vscode.TreeDataProvider<GpuTreeNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private lastRendered = '';

  constructor(private readonly monitor: GpuMonitor, private readonly thresholds: () => GaugeThresholds) {
    monitor.onDidChange((result) => {
      const rendered = JSON.stringify({ ...result, at: 0 });
      if (rendered === this.lastRendered) return;
      this.lastRendered = rendered;
      this.changed.fire();
    });
  }

  getChildren(node?: GpuTreeNode): GpuTreeNode[] {
    const result = this.monitor.snapshot;
    if (!result) return [];
    if (!node) return [{ kind: 'host', result }];
    if (node.kind !== 'host') return [];
    const host = node.result.host;
    if (node.result.kind !== 'gpus') return [{ kind: 'message', host, error: node.result.error, isError: node.result.kind === 'error' }];
    if (node.result.gpus.length === 0) return [{ kind: 'message', host, error: { message: 'No NVIDIA GPU: nvidia-smi lists none' }, isError: false }];
    return node.result.gpus.map((gpu) => ({ kind: 'gpu', host, gpu }));
  }

  getTreeItem(node: GpuTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'host': {
        const item = new vscode.TreeItem(node.result.host, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `host/${node.result.host}`;
        item.iconPath = new vscode.ThemeIcon('vm');
        item.contextValue = 'host';
        if (node.result.kind === 'gpus') item.description = `${node.result.gpus.length} GPU${node.result.gpus.length === 1 ? '' : 's'}`;
        return item;
      }
      case 'gpu': {
        const item = new vscode.TreeItem(`${node.gpu.index}: ${shortGpuName(node.gpu.name)}`, vscode.TreeItemCollapsibleState.None);
        item.id = `gpu/${node.host}/${node.gpu.uuid ?? node.gpu.index}`;
        item.description = summarizeGpu(node.gpu);
        item.tooltip = gpuTooltip(node.host, node.gpu);
        const color = LEVEL_COLORS[gaugeLevel(memoryPercent(node.gpu), this.thresholds())];
        item.iconPath = new vscode.ThemeIcon('chip', color ? new vscode.ThemeColor(color) : undefined);
        item.contextValue = 'gpu';
        item.command = { command: 'gpuDev.showGpuDetails', title: 'Show GPU Details', arguments: [node] };
        return item;
      }
      case 'message': {
        // "No NVIDIA GPU: nvidia-smi not found" → label "No NVIDIA GPU", description "nvidia-smi not found".
        const [label, ...detail] = node.error.message.split(': ');
        const item = new vscode.TreeItem(label!, vscode.TreeItemCollapsibleState.None);
        item.description = detail.join(': ');
        item.id = `message/${node.host}`;
        item.iconPath = new vscode.ThemeIcon(node.isError ? 'warning' : 'info');
        item.tooltip = describeError(node.error);
        return item;
      }
    }
  }
}
