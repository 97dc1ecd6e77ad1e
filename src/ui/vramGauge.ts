import * as vscode from 'vscode';
import { gaugeView } from '../monitor/gauge';
import type { GpuMonitor } from '../monitor/gpuMonitor';
import type { MonitorSettings } from './settings';

const BACKGROUNDS = { normal: undefined, warning: 'statusBarItem.warningBackground', error: 'statusBarItem.errorBackground' } as const;

/** The status-bar VRAM gauge: hidden without a GPU or when turned off in the settings. */
export class VramGauge implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('gpuDev.vram', vscode.StatusBarAlignment.Right, 100);
  private readonly unsubscribe: () => void;

  constructor(private readonly monitor: GpuMonitor, private settings: MonitorSettings) {
    this.item.name = 'GPU VRAM';
    this.item.command = { command: 'gpuDev.gpus.focus', title: 'Show GPUs' };
    this.unsubscribe = monitor.onDidChange(() => this.render());
    this.render();
  }

  update(settings: MonitorSettings): void {
    this.settings = settings;
    this.render();
  }

  private render(): void {
    const view = this.settings.statusBarEnabled ? gaugeView(this.monitor.snapshot, this.settings) : null;
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

  dispose(): void {
    this.unsubscribe();
    this.item.dispose();
  }
}
