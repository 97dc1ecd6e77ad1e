// `.gpudev.yaml` in the editor: problems in the Problems view when the YAML extension (which validates with
// our JSON Schema through `yamlValidation`) is not installed, and a CodeLens with the estimate and actions.
import * as vscode from 'vscode';
import { pickFolder, workspaceModule } from './analyzePanel';

const YAML_EXTENSION = 'redhat.vscode-yaml';
const isGpudevYaml = (document: vscode.TextDocument) =>
  document.uri.scheme === 'file' && document.uri.path.endsWith('/.gpudev.yaml');

export function registerGpudevYaml(): vscode.Disposable[] {
  const diagnostics = vscode.languages.createDiagnosticCollection('gpudev-yaml');
  const check = (document: vscode.TextDocument) => {
    if (!isGpudevYaml(document) || vscode.extensions.getExtension(YAML_EXTENSION)) return;
    const result = workspaceModule().parseGpudevConfig(document.getText());
    diagnostics.set(
      document.uri,
      result.problems.map((p) => {
        const range = new vscode.Range(p.line - 1, p.column - 1, p.endLine - 1, Math.max(p.endColumn - 1, p.column));
        const diagnostic = new vscode.Diagnostic(range, p.message, vscode.DiagnosticSeverity.Error);
        diagnostic.source = '.gpudev.yaml';
        return diagnostic;
      }),
    );
  };
  const lenses = new GpudevYamlLenses();
  vscode.workspace.textDocuments.forEach(check);
  return [
    diagnostics,
    lenses,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((event) => check(event.document)),
    vscode.workspace.onDidCloseTextDocument((document) => diagnostics.delete(document.uri)),
    vscode.workspace.onDidSaveTextDocument((document) => {
      if (isGpudevYaml(document)) lenses.refresh();
    }),
    vscode.languages.registerCodeLensProvider({ pattern: '**/.gpudev.yaml' }, lenses),
  ];
}

class GpudevYamlLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    if (!folder) return [];
    const module = workspaceModule();
    const report = module.analyzeDirectory(vscode.Uri.joinPath(document.uri, '..').fsPath, module.builtinCatalog());
    const top = new vscode.Range(0, 0, 0, 0);
    if (report.configProblems.length)
      return [
        new vscode.CodeLens(top, { title: `${report.configProblems.length} problem(s) in .gpudev.yaml`, command: '' }),
      ];
    return [
      new vscode.CodeLens(top, { title: module.lensSummary(report), command: 'gpuDev.analyzeWorkspace' }),
      ...(report.target
        ? [new vscode.CodeLens(top, { title: `Cosplay as ${report.target}`, command: 'gpuDev.cosplayFromWorkspace' })]
        : []),
      new vscode.CodeLens(top, { title: 'Reserve', command: 'gpuDev.reserveFromWorkspace' }),
    ];
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The workspace folder of the active `.gpudev.yaml`, else the one picked, analyzed. */
export async function analyzedWorkspace() {
  const active = vscode.window.activeTextEditor?.document;
  const folder =
    (active && isGpudevYaml(active) ? vscode.Uri.joinPath(active.uri, '..') : undefined) ?? (await pickFolder());
  if (!folder) return undefined;
  const module = workspaceModule();
  return { folder, report: module.analyzeDirectory(folder.fsPath, module.builtinCatalog()) };
}
