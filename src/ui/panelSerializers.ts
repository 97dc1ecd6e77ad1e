// The webview panels come back after Reload Window: each webview keeps what it shows in VS Code's
// webview state, and these serializers rebuild the panel from it (validated; a panel whose state is
// not ours, or whose GPU is gone, is closed rather than shown empty).
import * as vscode from 'vscode';
import { FidelityPanel } from './fidelityPanel';
import type { GpuDetailsPanels } from './gpuDetails';
import { PlanPanel } from './planPanel';
import type { Reservations } from './reservations';
import { ReservePanel } from './reservePanel';

export function registerPanelSerializers(
  extensionUri: vscode.Uri,
  details: GpuDetailsPanels,
  reservations: Reservations,
  log: vscode.LogOutputChannel,
): vscode.Disposable[] {
  const serializer = (restore: (panel: vscode.WebviewPanel, state: unknown) => void | Promise<void>) => ({
    deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => restore(panel, state),
  });
  return [
    vscode.window.registerWebviewPanelSerializer(
      'gpuDev.plan',
      serializer((panel, state) => PlanPanel.restore(panel, extensionUri, state, log)),
    ),
    vscode.window.registerWebviewPanelSerializer(
      'gpuDev.fidelity',
      serializer((panel, state) => FidelityPanel.restore(panel, extensionUri, state, log)),
    ),
    vscode.window.registerWebviewPanelSerializer(
      'gpuDev.reserve',
      serializer((panel) => ReservePanel.restore(panel, extensionUri, reservations, log)),
    ),
    vscode.window.registerWebviewPanelSerializer(
      'gpuDev.gpuDetails',
      serializer((panel, state) => details.restore(panel, state)),
    ),
  ];
}
