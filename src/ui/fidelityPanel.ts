import * as vscode from 'vscode';
import type { FidelityView } from '../../webviews/protocol';
import { FidelityViewSchema, FromFidelityWebviewSchema, ToFidelityWebviewSchema } from '../../webviews/protocol';
import { restoredView, webviewHtml, webviewOptions } from './webviewHtml';

/** One reusable panel showing the latest fidelity report. */
export class FidelityPanel {
  private static current: FidelityPanel | undefined;

  static show(
    extensionUri: vscode.Uri,
    view: FidelityView,
    file: vscode.Uri | undefined,
    log: vscode.LogOutputChannel,
  ): void {
    const current = (FidelityPanel.current ??= new FidelityPanel(extensionUri, log));
    current.view = view;
    current.file = file;
    current.panel.title = view.title;
    current.post();
    current.panel.reveal();
  }

  /** The panel VS Code brings back after a reload, with the report it showed (and its file, if saved here). */
  static restore(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    state: unknown,
    log: vscode.LogOutputChannel,
  ): void {
    const view = restoredView(panel, extensionUri, state, FidelityViewSchema, FidelityPanel.current !== undefined);
    if (!view) return;
    const folder = vscode.workspace.workspaceFolders?.[0];
    const current = (FidelityPanel.current = new FidelityPanel(extensionUri, log, panel));
    current.view = view;
    current.file = folder && view.savedAs ? vscode.Uri.joinPath(folder.uri, view.savedAs) : undefined;
  }

  private readonly panel: vscode.WebviewPanel;
  private view: FidelityView | undefined;
  private file: vscode.Uri | undefined;

  private constructor(extensionUri: vscode.Uri, log: vscode.LogOutputChannel, panel?: vscode.WebviewPanel) {
    this.panel =
      panel ??
      vscode.window.createWebviewPanel(
        'gpuDev.fidelity',
        'Fidelity Report',
        vscode.ViewColumn.Active,
        webviewOptions(extensionUri),
      );
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gpu.svg');
    this.panel.webview.html = webviewHtml(this.panel.webview, extensionUri, {
      title: 'Fidelity Report',
      script: 'fidelity.js',
      styles: ['media/fidelity.css'],
    });
    this.panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = FromFidelityWebviewSchema.safeParse(raw);
      if (!message.success)
        return log.warn(`fidelity webview sent an invalid message: ${message.error.issues[0]?.message ?? 'unknown'}`);
      if (message.data.type === 'ready') this.post();
      if (message.data.type === 'openReportFile' && this.file) void vscode.window.showTextDocument(this.file);
    });
    this.panel.onDidDispose(() => {
      FidelityPanel.current = undefined;
    });
  }

  private post(): void {
    if (this.view)
      void this.panel.webview.postMessage(ToFidelityWebviewSchema.parse({ type: 'report', view: this.view }));
  }
}
