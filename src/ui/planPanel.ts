import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { PlanView } from '../cosplay/planView';
import { FromPlanWebviewSchema, ToPlanWebviewSchema } from '../../webviews/protocol';

/** One reusable panel showing the latest cosplay plan. */
export class PlanPanel {
  private static current: PlanPanel | undefined;
  private view: PlanView;

  static show(extensionUri: vscode.Uri, view: PlanView, log: vscode.LogOutputChannel): void {
    if (PlanPanel.current) {
      PlanPanel.current.update(view);
      PlanPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel('gpuDev.plan', 'Cosplay Plan', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webviews'), vscode.Uri.joinPath(extensionUri, 'media')],
    });
    PlanPanel.current = new PlanPanel(panel, extensionUri, view, log);
  }

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly extensionUri: vscode.Uri, view: PlanView, log: vscode.LogOutputChannel) {
    this.view = view;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gpu.svg');
    panel.webview.html = this.html();
    panel.title = `Cosplay Plan: ${view.title}`;
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const message = FromPlanWebviewSchema.safeParse(raw);
      if (!message.success) {
        log.warn(`plan webview sent an invalid message: ${message.error.issues[0]?.message ?? 'unknown'}`);
        return;
      }
      if (message.data.type === 'ready') this.post();
      if (message.data.type === 'copyCommandLine') {
        await vscode.env.clipboard.writeText(this.view.commandLine);
        void vscode.window.showInformationMessage(`Copied: ${this.view.commandLine}`);
      }
    });
    panel.onDidDispose(() => { PlanPanel.current = undefined; });
  }

  private update(view: PlanView): void {
    this.view = view;
    this.panel.title = `Cosplay Plan: ${view.title}`;
    this.post();
  }

  private post(): void {
    void this.panel.webview.postMessage(ToPlanWebviewSchema.parse({ type: 'plan', view: this.view }));
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const asset = (...path: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...path));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('dist', 'webviews', 'codicon.css')}">
<link rel="stylesheet" href="${asset('media', 'plan.css')}">
<title>Cosplay Plan</title>
</head>
<body>
<p>Loading the plan…</p>
<script nonce="${nonce}" src="${asset('dist', 'webviews', 'plan.js')}"></script>
</body>
</html>`;
  }
}
