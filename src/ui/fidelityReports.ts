// Fidelity reports: saved as JSON under .gpudev/reports/ in the workspace and shown beside the
// earlier ones of the same target on the same host.
import * as vscode from 'vscode';
import { parseFidelityReport, reportFileName, type FidelityReport } from '../cosplay/benchReport';
import { fidelityView } from '../cosplay/fidelityView';
import { FidelityPanel } from './fidelityPanel';
import { isSimulatedHost } from './settings';
import { simulatedNote } from '../hosts/sshHosts';

/** Opens a report (saving it first when asked) beside the earlier ones of the workspace. */
export async function showFidelityReport(
  extensionUri: vscode.Uri,
  log: vscode.LogOutputChannel,
  report: FidelityReport,
  save: boolean,
): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const dir = folder && vscode.Uri.joinPath(folder.uri, '.gpudev', 'reports');
  const file = dir && vscode.Uri.joinPath(dir, reportFileName(report));
  if (dir && file && save) {
    await vscode.workspace.fs.createDirectory(dir);
    await vscode.workspace.fs.writeFile(file, Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8'));
    log.info(`fidelity report saved: ${file.fsPath}`);
  }
  const earlier = dir ? await readReports(dir) : [];
  const view = fidelityView(report, earlier, file ? vscode.workspace.asRelativePath(file) : null);
  const simulated = isSimulatedHost(report.host) ? simulatedNote(report.host) : undefined;
  FidelityPanel.show(extensionUri, { ...view, ...(simulated && { simulated }) }, file, log);
}

/** "Open Fidelity Report…": a saved report of the workspace. */
export async function openFidelityReport(extensionUri: vscode.Uri, log: vscode.LogOutputChannel): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const dir = folder && vscode.Uri.joinPath(folder.uri, '.gpudev', 'reports');
  const reports = dir ? await readReports(dir) : [];
  if (!reports.length)
    return void vscode.window.showInformationMessage(
      'No fidelity reports in this workspace yet: run "Benchmark" on a cosplay session.',
    );
  const items = [...reports].reverse().map((r) => ({
    label: `${r.targetName} on ${r.host}`,
    description: r.at,
    detail: `${r.session} · ${r.strategy} on ${r.hostModel}`,
    report: r,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    placeHolder: 'Which report? (newest first)',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (picked) await showFidelityReport(extensionUri, log, picked.report, false);
}

async function readReports(dir: vscode.Uri): Promise<FidelityReport[]> {
  const entries = await vscode.workspace.fs.readDirectory(dir).then(
    (e) => e,
    () => [] as [string, vscode.FileType][],
  );
  const texts = await Promise.all(
    entries
      .filter(([name]) => name.endsWith('.json'))
      .map(([name]) =>
        vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, name)).then(
          (b) => Buffer.from(b).toString('utf8'),
          () => '',
        ),
      ),
  );
  return texts
    .map(parseFidelityReport)
    .filter((r): r is FidelityReport => r !== undefined)
    .sort((a, b) => a.at.localeCompare(b.at));
}
