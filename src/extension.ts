import * as vscode from 'vscode';
import { probeGpus } from './hosts/gpuProbe';
import { LocalRunner } from './hosts/runner';
import { GpuMonitor } from './monitor/gpuMonitor';
import { cosplayAs, type CosplayContext } from './ui/cosplayCommands';
import { DETAILS_SCHEME, GpuDetailsProvider, showGpuDetails } from './ui/gpuDetails';
import { GpuTreeProvider, type GpuTreeNode } from './ui/gpuTree';
import { readMonitorSettings } from './ui/settings';
import { VramGauge } from './ui/vramGauge';

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('GPU Dev Environments', { log: true });
  const runner = new LocalRunner();
  let settings = readMonitorSettings();
  const monitor = new GpuMonitor(() => probeGpus(runner), settings.intervalMs, log);
  const tree = new GpuTreeProvider(monitor, () => settings);
  const gpuView = vscode.window.createTreeView('gpuDev.gpus', { treeDataProvider: tree, showCollapseAll: false });
  const gauge = new VramGauge(monitor, settings);
  const cosplayContext: CosplayContext = { extensionUri: context.extensionUri, monitor, runner, log };
  const updateWatched = () => monitor.setWatched(gpuView.visible || settings.statusBarEnabled);

  context.subscriptions.push(
    log, gpuView, gauge, { dispose: () => monitor.dispose() },
    vscode.workspace.registerTextDocumentContentProvider(DETAILS_SCHEME, new GpuDetailsProvider(runner, monitor)),
    vscode.commands.registerCommand('gpuDev.refresh', () =>
      vscode.window.withProgress({ location: { viewId: 'gpuDev.gpus' } }, async () => {
        log.info('refresh requested');
        await monitor.refresh();
      })),
    vscode.commands.registerCommand('gpuDev.showGpuDetails', (node?: GpuTreeNode) => showGpuDetails(monitor, node)),
    vscode.commands.registerCommand('gpuDev.cosplayAs', (node?: GpuTreeNode) => cosplayAs(cosplayContext, undefined, node)),
    vscode.commands.registerCommand('gpuDev.cosplayAsRtx3090', () => cosplayAs(cosplayContext, 'rtx3090')),
    gpuView.onDidChangeVisibility(updateWatched),
    vscode.window.onDidChangeWindowState((state) => monitor.setFocused(state.focused)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('gpuDev')) return;
      settings = readMonitorSettings();
      monitor.setIntervalMs(settings.intervalMs);
      gauge.update(settings);
      updateWatched();
    }),
  );
  monitor.setFocused(vscode.window.state.focused);
  updateWatched();
  log.debug(`activated in ${(performance.now() - started).toFixed(1)} ms`);
}

export function deactivate(): void {}
