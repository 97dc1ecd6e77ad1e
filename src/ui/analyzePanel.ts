// "GPU: Analyze Workspace": the panel with the findings, the estimate, the fits and the buttons that act on them.
import * as vscode from 'vscode';
import type * as Workspace from '../workspace/index';
import { FromAnalyzeWebviewSchema, ToAnalyzeWebviewSchema, type FromAnalyzeWebview } from '../../webviews/protocol';
import { webviewHtml, webviewOptions } from './webviewHtml';

let loaded: typeof Workspace | undefined;
/** dist/workspace.js, next to dist/extension.js, required on first use. */
export function workspaceModule(): typeof Workspace {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./workspace.js') as typeof Workspace;
  return loaded;
}

/** What the panel's buttons start: the cosplay plan with a target, the reservation panel. */
export interface AnalyzeActions {
  cosplay(target: string): Promise<unknown>;
  reserve(report: Workspace.WorkspaceReport): Promise<unknown>;
}

/** The workspace folder to analyze: the only one, or the one picked. */
export async function pickFolder(): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) {
    if (!folders[0]) void vscode.window.showErrorMessage('Open a folder first: the analysis reads its files.');
    return folders[0]?.uri;
  }
  const picked = await vscode.window.showWorkspaceFolderPick({ placeHolder: 'The folder to analyze' });
  return picked?.uri;
}

export async function writeGpudevYaml(folder: vscode.Uri, report: Workspace.WorkspaceReport): Promise<boolean> {
  const uri = vscode.Uri.joinPath(folder, workspaceModule().CONFIG_FILE);
  const exists = await vscode.workspace.fs.stat(uri).then(
    () => true,
    () => false,
  );
  if (exists) {
    const choice = await vscode.window.showWarningMessage(
      '.gpudev.yaml exists. Replace it with one written from the analysis?',
      { modal: true },
      'Replace',
    );
    if (choice !== 'Replace') return false;
  }
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(workspaceModule().configFromReport(report)));
  await vscode.window.showTextDocument(uri);
  return true;
}

export async function exportSkyPilot(folder: vscode.Uri, report: Workspace.WorkspaceReport): Promise<void> {
  const exported = workspaceModule().skyPilotExport(report, folder.fsPath);
  if ('error' in exported) return void vscode.window.showErrorMessage(`SkyPilot export: ${exported.error}`);
  const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: exported.yaml });
  await vscode.window.showTextDocument(document);
}

export class AnalyzePanel {
  private static current: AnalyzePanel | undefined;

  static async show(extensionUri: vscode.Uri, actions: AnalyzeActions, log: vscode.LogOutputChannel): Promise<void> {
    const folder = await pickFolder();
    if (!folder) return;
    const panel =
      AnalyzePanel.current ??
      new AnalyzePanel(
        vscode.window.createWebviewPanel(
          'gpuDev.analyze',
          'Workspace GPU',
          vscode.ViewColumn.Active,
          webviewOptions(extensionUri),
        ),
        extensionUri,
        actions,
        log,
      );
    AnalyzePanel.current = panel;
    panel.analyze(folder);
    panel.panel.reveal();
  }

  private folder: vscode.Uri | undefined;
  private report: Workspace.WorkspaceReport | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly actions: AnalyzeActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'gpu.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, {
      title: 'Workspace GPU',
      script: 'analyze.js',
      styles: ['media/analyze.css'],
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = FromAnalyzeWebviewSchema.safeParse(raw);
      if (!message.success)
        return log.warn(`analyze webview sent an invalid message: ${message.error.issues[0]?.message ?? ''}`);
      void this.handle(message.data).catch((error: unknown) => log.error(`analyze panel: ${String(error)}`));
    });
    panel.onDidDispose(() => {
      AnalyzePanel.current = undefined;
    });
  }

  private analyze(folder: vscode.Uri): void {
    const started = performance.now();
    const module = workspaceModule();
    this.folder = folder;
    this.report = module.analyzeDirectory(folder.fsPath, module.builtinCatalog());
    this.log.info(
      `analyzed ${folder.fsPath} in ${(performance.now() - started).toFixed(0)} ms: ${this.report.estimate.totalGiB} GiB`,
    );
    this.panel.title = `Workspace GPU: ${this.report.estimate.totalGiB} GiB`;
    this.post();
  }

  private post(): void {
    if (!this.report || !this.folder) return;
    const view = workspaceModule().analyzeView(this.report, this.folder.fsPath, this.report.config !== null);
    void this.panel.webview.postMessage(ToAnalyzeWebviewSchema.parse({ type: 'analysis', view }));
  }

  private async handle(message: FromAnalyzeWebview): Promise<void> {
    const { folder, report } = this;
    if (message.type === 'ready') return this.post();
    if (!folder || !report) return;
    if (message.type === 'open') {
      // Only a file the analysis named, inside the folder.
      if (!report.findings.some((f) => f.file === message.file)) return;
      const line = Math.max(0, message.line - 1);
      await vscode.window.showTextDocument(vscode.Uri.joinPath(folder, ...message.file.split('/')), {
        selection: new vscode.Range(line, 0, line, 0),
        preview: true,
      });
    } else if (message.type === 'writeConfig') {
      if (await writeGpudevYaml(folder, report)) this.analyze(folder);
    } else if (message.type === 'cosplay') await this.actions.cosplay(message.target);
    else if (message.type === 'reserve') await this.actions.reserve(report);
    else await exportSkyPilot(folder, report);
  }
}
