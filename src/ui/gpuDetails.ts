import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { describeGpu, summarizeGpu, type GpuSample } from '../hosts/gpu';
import { queryGpuReport, type ProbeResult } from '../hosts/gpuProbe';
import type { Runner } from '../hosts/runner';
import { gpuKey } from '../monitor/gauge';
import { HISTORY_MS, type SampleHistory } from '../monitor/history';
import {
  DetailsRestoreSchema,
  FromDetailsWebviewSchema,
  ToDetailsWebviewSchema,
  type ToDetailsWebview,
} from '../../webviews/protocol';
import type { GpuTreeNode } from './gpuTree';
import { onAnySample, type HostList } from './hostList';
import { webviewHtml, webviewOptions } from './webviewHtml';

/** The runner of a host, by the host's name (undefined while an SSH host has never connected). */
export type RunnerLookup = (host: string) => Runner | undefined;

interface OpenPanel {
  readonly panel: vscode.WebviewPanel;
  readonly host: string;
  readonly key: string;
  readonly index: number;
}

const fieldsOf = (gpu: GpuSample) => describeGpu(gpu).map(([label, value]) => ({ label, value }));

/**
 * GPU details: one webview per GPU with the last ten minutes of utilisation and memory as a chart,
 * the sampled fields and the `nvidia-smi -q` report from the GPU's own host. Open panels keep their
 * host sampled and follow each sample.
 */
export class GpuDetailsPanels implements vscode.Disposable {
  private readonly open = new Map<string, OpenPanel>();
  private readonly watchersChanged = new vscode.EventEmitter<void>();
  /** Fires when a panel opens or closes: its host needs sampling, or no longer. */
  readonly onDidChangeWatchers = this.watchersChanged.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly hosts: HostList,
    private readonly history: SampleHistory,
    private readonly runnerOf: RunnerLookup,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = onAnySample(hosts, (result) => this.follow(result));
  }

  watches(host: string): boolean {
    return [...this.open.values()].some((p) => p.host === host);
  }

  /** Details of a GPU of the tree (any host), or of a GPU of this machine picked from a list. */
  async show(node?: GpuTreeNode): Promise<void> {
    const [local] = this.hosts.hosts();
    const gpu =
      node?.kind === 'gpu'
        ? node.gpu
        : local && (await pickGpu(local.monitor.snapshot ?? (await local.monitor.refresh())));
    const host = node?.kind === 'gpu' ? node.host : local?.name;
    if (!gpu || !host) return;
    const existing = this.open.get(`${host}\n${gpuKey(gpu)}`);
    if (existing) return existing.panel.reveal();
    this.attach(
      vscode.window.createWebviewPanel(
        'gpuDev.gpuDetails',
        `GPU ${gpu.index} · ${host}`,
        vscode.ViewColumn.Active,
        webviewOptions(this.extensionUri),
      ),
      host,
      gpu,
    );
  }

  /** A panel VS Code restores after a reload: its GPU once the host has been sampled, else it closes. */
  async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const restored = DetailsRestoreSchema.safeParse(state);
    if (!restored.success) return void panel.dispose();
    const { host, key } = restored.data;
    const monitor = this.hosts.hosts().find((h) => h.name === host)?.monitor;
    const sample = monitor ? (monitor.snapshot ?? (await monitor.refresh())) : undefined;
    const gpu = sample?.kind === 'gpus' ? sample.gpus.find((g) => gpuKey(g) === key) : undefined;
    if (!gpu) return void panel.dispose();
    panel.webview.options = webviewOptions(this.extensionUri);
    this.attach(panel, host, gpu);
  }

  private attach(panel: vscode.WebviewPanel, host: string, gpu: GpuSample): void {
    const id = `${host}\n${gpuKey(gpu)}`;
    const title = `GPU ${gpu.index}: ${gpu.name} on ${host}`;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'gpu.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, {
      title,
      script: 'details.js',
      styles: ['dist/webviews/uPlot.min.css', 'media/details.css'],
    });
    const open: OpenPanel = { panel, host, key: gpuKey(gpu), index: gpu.index };
    this.open.set(id, open);
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = FromDetailsWebviewSchema.safeParse(raw);
      if (!message.success)
        return this.log.warn(
          `GPU details webview sent an invalid message: ${message.error.issues[0]?.message ?? 'unknown'}`,
        );
      const series = this.history.of(host, open.key) ?? {
        at: [],
        utilizationPct: [],
        memoryUsedMiB: [],
        memoryTotalMiB: gpu.memoryTotalMiB,
      };
      this.post(open, {
        type: 'details',
        title,
        fields: fieldsOf(gpu),
        series,
        historyMs: HISTORY_MS,
        restore: { host, key: open.key },
      });
      void this.sendReport(open);
    });
    panel.onDidDispose(() => {
      this.open.delete(id);
      this.watchersChanged.fire();
    });
    this.watchersChanged.fire();
  }

  private follow(result: ProbeResult): void {
    if (result.kind !== 'gpus') return;
    for (const open of this.open.values()) {
      const gpu = open.host === result.host && result.gpus.find((g) => gpuKey(g) === open.key);
      if (!gpu) continue;
      this.post(open, {
        type: 'sample',
        fields: fieldsOf(gpu),
        at: result.at,
        utilizationPct: gpu.utilizationPct,
        memoryUsedMiB: gpu.memoryUsedMiB,
        memoryTotalMiB: gpu.memoryTotalMiB,
      });
    }
  }

  private async sendReport(open: OpenPanel): Promise<void> {
    const heading = `nvidia-smi -q -i ${open.index}`;
    const runner = this.runnerOf(open.host);
    if (!runner) return this.post(open, { type: 'report', heading, ok: false, text: `${open.host} is not connected.` });
    const report = await queryGpuReport(runner, open.index);
    this.post(open, {
      type: 'report',
      heading,
      ok: report.ok,
      text: report.ok ? report.text.trimEnd() : describeError(report.error),
    });
  }

  private post(open: OpenPanel, message: ToDetailsWebview): void {
    void open.panel.webview.postMessage(ToDetailsWebviewSchema.parse(message));
  }

  dispose(): void {
    this.subscription.dispose();
    for (const open of this.open.values()) open.panel.dispose();
    this.watchersChanged.dispose();
  }
}

async function pickGpu(snapshot: ProbeResult): Promise<GpuSample | undefined> {
  if (snapshot.kind !== 'gpus' || snapshot.gpus.length === 0) {
    void vscode.window.showInformationMessage(
      snapshot.kind === 'gpus' ? 'No NVIDIA GPU on this machine.' : describeError(snapshot.error),
    );
    return undefined;
  }
  if (snapshot.gpus.length === 1) return snapshot.gpus[0];
  const picked = await vscode.window.showQuickPick(
    snapshot.gpus.map((gpu) => ({ label: `${gpu.index}: ${gpu.name}`, description: summarizeGpu(gpu), gpu })),
    { title: 'Show GPU Details', placeHolder: 'Pick a GPU' },
  );
  return picked?.gpu;
}
