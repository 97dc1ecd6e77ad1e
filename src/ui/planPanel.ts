import * as vscode from 'vscode';
import type { PlanView } from '../cosplay/planView';
import { FromPlanWebviewSchema, PlanViewSchema, ToPlanWebviewSchema } from '../../webviews/protocol';
import { restoredView, webviewHtml, webviewOptions } from './webviewHtml';

/** One reusable panel showing the latest cosplay plan. */
export class PlanPanel {
  private static current: PlanPanel | undefined;
  private view: PlanView;
  private onApply: (() => Promise<unknown>) | undefined;

  /** Shows a plan; `onApply` runs when its Apply button is pressed (plans for a real GPU only). */
  static show(
    extensionUri: vscode.Uri,
    view: PlanView,
    log: vscode.LogOutputChannel,
    onApply?: () => Promise<unknown>,
  ): void {
    if (PlanPanel.current) {
      PlanPanel.current.onApply = onApply;
      PlanPanel.current.update(view);
      PlanPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      'gpuDev.plan',
      'Cosplay Plan',
      vscode.ViewColumn.Active,
      webviewOptions(extensionUri),
    );
    PlanPanel.current = new PlanPanel(panel, extensionUri, view, log);
    PlanPanel.current.onApply = onApply;
  }

  /** The panel VS Code brings back after a reload: the plan it showed, to read; applying means planning again. */
  static restore(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    state: unknown,
    log: vscode.LogOutputChannel,
  ): void {
    const view = restoredView(panel, extensionUri, state, PlanViewSchema, PlanPanel.current !== undefined);
    if (!view) return;
    const apply = {
      enabled: false,
      note: 'Restored after a reload: run "Cosplay as…" again to apply (the GPU may have changed since).',
    };
    PlanPanel.current = new PlanPanel(panel, extensionUri, { ...view, apply }, log);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    view: PlanView,
    log: vscode.LogOutputChannel,
  ) {
    this.view = view;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gpu.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, {
      title: 'Cosplay Plan',
      script: 'plan.js',
      styles: ['media/plan.css'],
    });
    panel.title = `Cosplay Plan: ${view.title}`;
    panel.webview.onDidReceiveMessage(async (raw: unknown) => {
      const message = FromPlanWebviewSchema.safeParse(raw);
      if (!message.success) {
        log.warn(`plan webview sent an invalid message: ${message.error.issues[0]?.message ?? 'unknown'}`);
        return;
      }
      if (message.data.type === 'ready') this.post();
      if (message.data.type === 'apply' && this.onApply) {
        const applied = await this.onApply().catch((error: unknown) => log.error(`apply failed: ${String(error)}`));
        void this.panel.webview.postMessage(ToPlanWebviewSchema.parse({ type: 'applied', ok: Boolean(applied) }));
      }
      if (message.data.type === 'copyCommandLine') {
        await vscode.env.clipboard.writeText(this.view.commandLine);
        void vscode.window.showInformationMessage(`Copied: ${this.view.commandLine}`);
      }
    });
    panel.onDidDispose(() => {
      PlanPanel.current = undefined;
    });
  }

  private update(view: PlanView): void {
    this.view = view;
    this.panel.title = `Cosplay Plan: ${view.title}`;
    this.post();
  }

  private post(): void {
    void this.panel.webview.postMessage(ToPlanWebviewSchema.parse({ type: 'plan', view: this.view }));
  }
}
