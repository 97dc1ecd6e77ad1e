import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { describeGpu, summarizeGpu, type GpuSample } from '../hosts/gpu';
import { queryGpuReport } from '../hosts/gpuProbe';
import type { Runner } from '../hosts/runner';
import type { GpuMonitor } from '../monitor/gpuMonitor';
import type { GpuTreeNode } from './gpuTree';

export const DETAILS_SCHEME = 'gpudev-details';

/** A host's runner and monitor, by the host's name. */
export type HostLookup = (host: string) => { runner: Runner; monitor: GpuMonitor } | undefined;

/** Read-only markdown documents: the sampled fields of one GPU, then its full `nvidia-smi -q` report, from the GPU's own host. */
export class GpuDetailsProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly lookup: HostLookup) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const index = Number(query.get('index'));
    const host = this.lookup(query.get('host') ?? '');
    if (!host) return `# ${query.get('host')}\n\nThis host is no longer configured.\n`;
    const snapshot = host.monitor.snapshot;
    const gpu = snapshot?.kind === 'gpus' ? snapshot.gpus.find((g) => g.index === index) : undefined;
    const report = await queryGpuReport(host.runner, index);
    const rows = gpu ? describeGpu(gpu).map(([label, value]) => `| ${label} | ${value.replace(/\|/g, '\\|')} |`) : [];
    return [
      `# GPU ${index}${gpu ? `: ${gpu.name}` : ''} on ${host.runner.label}`,
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

/** Details of a GPU of the tree (any host), or of a GPU of this machine picked from a list. */
export async function showGpuDetails(local: GpuMonitor, node?: GpuTreeNode): Promise<void> {
  const gpu = node?.kind === 'gpu' ? node.gpu : await pickGpu(local);
  const host = node?.kind === 'gpu' ? node.host : local.snapshot?.host;
  if (!gpu || !host) return;
  const uri = vscode.Uri.from({
    scheme: DETAILS_SCHEME,
    path: `/GPU ${gpu.index} - ${gpu.name.replace(/[/\\]/g, '-')}.md`,
    query: new URLSearchParams({ host, index: String(gpu.index) }).toString(),
  });
  try {
    await vscode.commands.executeCommand('markdown.showPreview', uri);
  } catch {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
  }
}
