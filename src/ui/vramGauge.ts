import * as vscode from 'vscode';
import { shortGpuName, summarizeGpu, type GpuSample } from '../hosts/gpu';
import { gaugeTarget, gaugeView, gpuKey, type GaugeTarget } from '../monitor/gauge';
import { hostStatus } from '../monitor/hostStatus';
import type { GpuTreeNode, SessionSource } from './gpuTree';
import { onAnySample, type HostList } from './hostList';
import type { MonitorSettings } from './settings';
import type { FollowedReservation } from './windowReservation';

const BACKGROUNDS = {
  normal: undefined,
  warning: 'statusBarItem.warningBackground',
  error: 'statusBarItem.errorBackground',
} as const;
/** The user's pick, per workspace: { host, gpu } (a gpuKey). */
const PIN_KEY = 'gpuDev.gauge.pin';

type Pin = { host: string; gpu: string };
type GaugeItem = vscode.QuickPickItem & { pin?: Pin | null; showView?: true };

/** The status-bar VRAM gauge: the GPU that matters (see `gaugeTarget`) or the one the user picked; hidden without a GPU or when turned off. */
export class VramGauge implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('gpuDev.vram', vscode.StatusBarAlignment.Right, 100);
  private readonly targetChanged = new vscode.EventEmitter<void>();
  /** Fires when the gauge starts following another host: that host must be sampled now. */
  readonly onDidChangeTarget = this.targetChanged.event;
  private readonly subscriptions: vscode.Disposable[];
  private lastHost: string | undefined;

  /** `sessions`: a cosplayed GPU's gauge measures against the target's memory. */
  constructor(
    private readonly hosts: HostList,
    private settings: MonitorSettings,
    private readonly state: vscode.Memento,
    private readonly sessions: SessionSource,
    /** The reservation this Remote-SSH window is on: its host is followed, its job named in the tooltip. */
    private readonly window?: {
      follow(): FollowedReservation | undefined;
      readonly onDidChange: vscode.Event<void>;
    },
  ) {
    this.item.name = 'GPU VRAM';
    this.item.command = { command: 'gpuDev.chooseGaugeGpu', title: 'Choose the GPU Shown in the Status Bar' };
    this.subscriptions = [
      onAnySample(hosts, () => this.render()),
      hosts.onDidChange(() => this.render()),
      sessions.onDidChange(() => this.render()),
      ...(window ? [window.onDidChange(() => this.render())] : []),
    ];
    this.render();
  }

  update(settings: MonitorSettings): void {
    this.settings = settings;
    this.render();
  }

  /** Whether the gauge needs this host sampled. */
  watches(host: string): boolean {
    return this.settings.statusBarEnabled && this.target()?.host === host;
  }

  /** Pins a GPU of the tree, or asks which GPU to show (or to follow the GPU that matters again). */
  async choose(node?: GpuTreeNode): Promise<void> {
    const pin = node?.kind === 'gpu' ? { host: node.host, gpu: gpuKey(node.gpu) } : await this.pick();
    if (pin === undefined) return;
    await this.state.update(PIN_KEY, pin ?? undefined);
    this.render();
  }

  private target(): GaugeTarget | undefined {
    const hosts = this.hosts.hosts().map(({ name, monitor }) => ({ name, snapshot: monitor.snapshot }));
    return gaugeTarget(hosts, this.state.get<Pin>(PIN_KEY), this.cosplayedGpu(), this.window?.follow()?.host);
  }

  /** The GPU of the first running cosplay session, as a gpuKey (its UUID, else its index). */
  private cosplayedGpu(): Pin | undefined {
    for (const { name, monitor } of this.hosts.hosts()) {
      const gpu = monitor.lastGood?.gpus.find((g) => this.sessions.on(name, g).some((s) => s.running));
      if (gpu) return { host: name, gpu: gpuKey(gpu) };
    }
    return undefined;
  }

  private render(): void {
    const target = this.target();
    if (target?.host !== this.lastHost) {
      this.lastHost = target?.host;
      this.targetChanged.fire();
    }
    const monitor = target && this.hosts.hosts().find((h) => h.name === target.host)?.monitor;
    const shown = monitor && hostStatus(monitor.snapshot, monitor.lastGood, Date.now(), monitor.interval).shown;
    const budgetOf = (gpu: GpuSample) => {
      const session = target && this.sessions.on(target.host, gpu).find((s) => s.running);
      return session && { target: shortGpuName(session.plan.targetName), vramMiB: session.plan.vramMiB };
    };
    const followed = this.window?.follow();
    const note = followed && followed.host === target?.host ? followed.note : undefined;
    const view = this.settings.statusBarEnabled ? gaugeView(shown, this.settings, target?.gpu, budgetOf, note) : null;
    if (!view) {
      this.item.hide();
      return;
    }
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip);
    this.item.accessibilityInformation = { label: view.accessibleLabel };
    const background = BACKGROUNDS[view.level];
    this.item.backgroundColor = background ? new vscode.ThemeColor(background) : undefined;
    this.item.show();
  }

  /** A quick pick of every GPU of every host; hosts not sampled yet are sampled while it shows. Null: automatic. */
  private pick(): Promise<Pin | null | undefined> {
    const quickPick = vscode.window.createQuickPick<GaugeItem>();
    quickPick.title = 'GPU shown in the status bar';
    quickPick.placeholder = 'Pick a GPU, or let the gauge follow the GPU that matters';
    const current = this.target();
    const items = (): GaugeItem[] => [
      {
        label: '$(sparkle) Automatic',
        description: current?.pinned ? '' : '(current)',
        detail: "This machine's first GPU, else the first SSH host's",
        pin: null,
      },
      ...this.hosts.hosts().flatMap(({ name, monitor }): GaugeItem[] => {
        const gpus = monitor.lastGood?.gpus ?? [];
        const note = gpus.length
          ? []
          : [{ label: monitor.snapshot ? '$(info) No GPU listed' : '$(loading~spin) Sampling…', description: name }];
        return [
          { label: name, kind: vscode.QuickPickItemKind.Separator },
          ...gpus.map((gpu) => ({
            label: `$(chip) ${gpu.index}: ${shortGpuName(gpu.name)}`,
            description: `${summarizeGpu(gpu)}${current?.pinned && current.host === name && current.gpu === gpuKey(gpu) ? ' (current)' : ''}`,
            pin: { host: name, gpu: gpuKey(gpu) },
          })),
          ...note,
        ];
      }),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(list-tree) Show the GPUs view', showView: true },
    ];
    quickPick.items = items();
    const unsampled = this.hosts.hosts().filter(({ monitor }) => !monitor.snapshot);
    quickPick.busy = unsampled.length > 0;
    void Promise.all(
      unsampled.map(({ monitor }) =>
        monitor.refresh().then(() => {
          quickPick.items = items();
        }),
      ),
    ).then(() => {
      quickPick.busy = false;
    });
    return new Promise((resolve) => {
      quickPick.onDidAccept(() => {
        const chosen = quickPick.selectedItems[0];
        if (chosen?.showView) void vscode.commands.executeCommand('gpuDev.gpus.focus');
        resolve(chosen?.pin);
        quickPick.hide();
      });
      quickPick.onDidHide(() => {
        resolve(undefined);
        quickPick.dispose();
      });
      quickPick.show();
    });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.targetChanged.dispose();
    this.item.dispose();
  }
}
