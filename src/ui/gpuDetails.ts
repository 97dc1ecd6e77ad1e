import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { describeGpu, summarizeGpu, type GpuSample } from '../hosts/gpu';
import { queryGpuReport } from '../hosts/gpuProbe';
import type { Runner } from '../hosts/runner';
import type { GpuMonitor } from '../monitor/gpuMonitor';
import type { GpuTreeNode } from './gpuTree';

export const DETAILS_SCHEME = 'gpudev-details';

/** Read-only markdown documents: the sampled fields of one GPU, then its full `nvidia-smi -q` report. */
export class GpuDetailsProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly runner: Runner, private readonly monitor: GpuMonitor) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const index = Number(new URLSearchParams(uri.query).get('index'));
    const snapshot = this.monitor.snapshot;
    const gpu = snapshot?.kind === 'gpus' ? snapshot.gpus.find((g) => g.index === index) : undefined;
    const report = await queryGpuReport(this.runner, index);
    const rows = gpu ? describeGpu(gpu).map(([label, value]) => `| ${label} | ${value.replace(/\|/g, '\\|')} |`) : [];
    return [
      `# GPU ${index}${gpu ? `: ${gpu.name}` : ''} on ${this.runner.label}`,
      '',
      ...(rows.length ? ['| Field | Value |', '|---|---|', ...rows, ''] : []),
      `## nvidia-smi -q -i ${index}`,
      '',
      '```text',
      report.ok ? report.text.trimEnd() : describeError(report.error),
      '```',
      '',
    ].join('\n');
  }
}

async function pickGpu(monitor: GpuMonitor): Promise<GpuSample | undefined> {
  const snapshot = monitor.snapshot ?? (await monitor.refresh());
  if (snapshot.kind !== 'gpus' || snapshot.gpus.length === 0) {
    void vscode.window.showInformationMessage(snapshot.kind === 'gpus' ? 'No NVIDIA GPU on this machine.' : describeError(snapshot.error));
    return undefined;
  }
  if (snapshot.gpus.length === 1) return snapshot.gpus[0];
  const picked = await vscode.window.showQuickPick(
    snapshot.gpus.map((gpu) => ({ label: `${gpu.index}: ${gpu.name}`, description: summarizeGpu(gpu), gpu })),
    { title: 'Show GPU Details', placeHolder: 'Pick a GPU' },
  );
  return picked?.gpu;
}

export async function showGpuDetails(monitor: GpuMonitor, node?: GpuTreeNode): Promise<void> {
  const gpu = node?.kind === 'gpu' ? node.gpu : await pickGpu(monitor);
  if (!gpu) return;
  const uri = vscode.Uri.from({ scheme: DETAILS_SCHEME, path: `/GPU ${gpu.index} - ${gpu.name.replace(/[/\\]/g, '-')}.md`, query: `index=${gpu.index}` });
  try {
    await vscode.commands.executeCommand('markdown.showPreview', uri);
  } catch {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
  }
}
