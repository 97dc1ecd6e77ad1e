// "Show Job Script": the batch script Slurm holds for a job, as a read-only document
// gpudev-job:/<cluster>/job-<id>.sh (a content provider's documents cannot be edited or saved).
import * as vscode from 'vscode';
import type { GpuDevError } from '../core/errors';

export const JOB_SCHEME = 'gpudev-job';

interface ScriptSource {
  jobScript(jobId: string): Promise<string | GpuDevError>;
}

export class JobScripts implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** Scripts read so far, by URI: a document reopened after a reload reads its job again. */
  private readonly scripts = new Map<string, string>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly clusterNamed: (name: string) => ScriptSource | undefined) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(JOB_SCHEME, this);
  }

  static uri(cluster: string, jobId: string): vscode.Uri {
    return vscode.Uri.from({
      scheme: JOB_SCHEME,
      path: `/${cluster.replace(/[/\\]+/g, '-')}/job-${jobId}.sh`,
      query: new URLSearchParams({ cluster, job: jobId }).toString(),
    });
  }

  /** Reads the job's script from the cluster and shows it; the error when it cannot be read. */
  async show(cluster: string, jobId: string): Promise<GpuDevError | undefined> {
    const source = this.clusterNamed(cluster);
    if (!source) return { message: `No cluster ${cluster} in gpuDev.clusters` };
    const script = await source.jobScript(jobId);
    if (typeof script !== 'string') return script;
    const uri = JobScripts.uri(cluster, jobId);
    this.scripts.set(uri.toString(), script);
    this.changed.fire(uri);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
    return undefined;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const known = this.scripts.get(uri.toString());
    if (known !== undefined) return known;
    const query = new URLSearchParams(uri.query);
    const source = this.clusterNamed(query.get('cluster') ?? '');
    const script = source ? await source.jobScript(query.get('job') ?? '') : undefined;
    if (typeof script === 'string') return script;
    return `# The script of job ${query.get('job') ?? '?'} on ${query.get('cluster') ?? '?'} cannot be read: ${script?.message ?? 'the cluster is no longer configured'}\n`;
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
