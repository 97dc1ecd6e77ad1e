import * as vscode from 'vscode';
import { verifyOutput } from '../cosplay/sessions';
import { parseVerifyReport, shown, verifySummary, type VerifyCheck } from '../cosplay/verifyReport';
import { DockerFailure } from '../hosts/docker';
import type { CosplaySessions } from './cosplaySessions';

/** Verify results in the Test Explorer: a "Cosplay: <session>" item per session, a child per check, rerunnable from there. */
export class VerifyTests implements vscode.Disposable {
  readonly controller = vscode.tests.createTestController('gpuDev.cosplayVerify', 'GPU Cosplay');
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly sessions: CosplaySessions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.controller.createRunProfile(
      'Verify',
      vscode.TestRunProfileKind.Run,
      (request, token) => this.run(request, token),
      true,
    );
    this.subscription = sessions.onDidChange(() => this.syncItems());
  }

  dispose(): void {
    this.subscription.dispose();
    this.controller.dispose();
  }

  /** One item per running session; items of sessions that ended go. */
  private syncItems(): void {
    const running = this.sessions
      .all()
      .filter((s) => s.session.running)
      .map((s) => s.session.name);
    this.controller.items.forEach((item) => {
      if (!running.includes(item.id)) this.controller.items.delete(item.id);
    });
    for (const name of running)
      if (!this.controller.items.get(name))
        this.controller.items.add(this.controller.createTestItem(name, `Cosplay: ${name}`));
  }

  /** Verifies one session, as "Run" on its item in the Test Explorer does. */
  async verify(sessionName: string): Promise<void> {
    this.syncItems();
    const item = this.controller.items.get(sessionName);
    if (!item) return void vscode.window.showErrorMessage(`No running cosplay session ${sessionName}.`);
    const cancel = new vscode.CancellationTokenSource();
    await this.run(new vscode.TestRunRequest([item]), cancel.token);
    cancel.dispose();
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    const roots = new Set<vscode.TestItem>();
    for (const item of request.include ?? [...this.all()]) roots.add(item.parent ?? item);
    const run = this.controller.createTestRun(request, 'Cosplay verify');
    for (const root of roots) {
      if (token.isCancellationRequested) break;
      run.started(root);
      const failure = await this.verifyInto(root, run);
      if (failure) run.errored(root, new vscode.TestMessage(failure));
    }
    run.end();
  }

  private *all(): Iterable<vscode.TestItem> {
    const items: vscode.TestItem[] = [];
    this.controller.items.forEach((item) => items.push(item));
    yield* items;
  }

  /** Runs verify.py in the session's container and reports each check; a sentence when it could not run. */
  private async verifyInto(root: vscode.TestItem, run: vscode.TestRun): Promise<string | undefined> {
    const found = this.sessions.find(root.id);
    if (!found) return `session ${root.id} is gone`;
    const host = await this.sessions.host(found.host);
    if (typeof host === 'string') return host;
    if (!found.session.running) return `${found.session.name} is not running`;
    let stdout: string;
    try {
      const journals = await host.journals();
      const journal = typeof journals === 'string' ? undefined : journals.find((j) => j.kind === found.session.journal);
      stdout = await verifyOutput(found.session, host.docker, journal);
    } catch (error) {
      return error instanceof DockerFailure ? error.failure.message : String(error);
    }
    const parsed = parseVerifyReport(stdout);
    if (!parsed.ok) return parsed.error;
    root.children.replace(parsed.report.checks.map((check) => this.checkItem(root, check)));
    for (const check of parsed.report.checks) {
      const item = root.children.get(`${root.id}/${check.id}`)!;
      if (check.status === 'pass') run.passed(item);
      else if (check.status === 'skip') run.skipped(item);
      else run.failed(item, failureMessage(check));
    }
    const summary = verifySummary(parsed.report);
    this.log.info(`${root.id}: verify ${summary}`);
    this.sessions.setVerifySummary(root.id, summary);
    return undefined;
  }

  private checkItem(root: vscode.TestItem, check: VerifyCheck): vscode.TestItem {
    const item = this.controller.createTestItem(`${root.id}/${check.id}`, check.title);
    item.description = check.status === 'skip' ? `${check.id} · skipped: ${check.detail ?? ''}` : check.id;
    return item;
  }
}

function failureMessage(check: VerifyCheck): vscode.TestMessage {
  const message = vscode.TestMessage.diff(
    `${check.title}${check.detail ? `: ${check.detail}` : ''}`,
    shown(check.expected),
    shown(check.actual),
  );
  return message;
}
