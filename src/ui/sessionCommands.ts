import * as vscode from 'vscode';
import { fidelityReport, parseBenchOutput, parseFidelityReport, ratioLevel, reportFileName, type FidelityReport } from '../cosplay/benchReport';
import { calibrateSession, MAX_CALIBRATION_RUNS } from '../cosplay/calibrate';
import { describeError } from '../core/errors';
import { fidelityView } from '../cosplay/fidelityView';
import { SHIM_DIR, shimArchive } from '../cosplay/hostProfile';
import type { Session } from '../cosplay/session';
import { cleanUpOrphans, findOrphans, stopSession } from '../cosplay/sessions';
import { DockerFailure } from '../hosts/docker';
import { LOCAL_HOST } from '../hosts/runner';
import type { CosplayHost, CosplaySessions } from './cosplaySessions';
import { FidelityPanel } from './fidelityPanel';
import { openSessionTerminal } from './sessionTerminal';

const DEV_CONTAINERS = 'ms-vscode-remote.remote-containers';

/** A session given by its tree item or its name (from notifications and the CLI's hints). */
export type SessionArgument = string | { readonly kind: 'session'; readonly session: Session } | undefined;

export class SessionCommands {
  constructor(private readonly sessions: CosplaySessions, private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  /** The session's name: given, or asked for when several run; undefined (and said why) when none runs. */
  async nameOf(argument: SessionArgument): Promise<string | undefined> {
    const name = typeof argument === 'string' ? argument : argument?.session.name ?? (await this.sessions.pick());
    if (!name && !this.sessions.all().some((s) => s.session.running)) void vscode.window.showInformationMessage('No cosplay session is running. Start one with "GPU: Cosplay as…".');
    return name;
  }

  /** The session and its host, asking which one when there are several and none was given. */
  private async resolve(argument: SessionArgument): Promise<{ session: Session; host: CosplayHost } | undefined> {
    const name = await this.nameOf(argument);
    const found = name ? this.sessions.find(name) : undefined;
    if (!found) return name ? void vscode.window.showErrorMessage(`No cosplay session ${name}: it may have stopped. Refresh the GPUs view.`) : undefined;
    const host = await this.sessions.host(found.host);
    if (typeof host === 'string') return void vscode.window.showErrorMessage(`Cannot reach the session's host: ${host}.`);
    return { session: found.session, host };
  }

  async openTerminal(argument: SessionArgument): Promise<void> {
    const found = await this.resolve(argument);
    if (found) openSessionTerminal(found.session.name, found.host.docker, found.session.containerId);
  }

  /** Dev Containers' "attach to running container" for sessions on this machine; a terminal otherwise. */
  async attach(argument: SessionArgument): Promise<void> {
    const found = await this.resolve(argument);
    if (!found) return;
    if (vscode.extensions.getExtension(DEV_CONTAINERS) && found.host.name === LOCAL_HOST) {
      const authority = Buffer.from(JSON.stringify({ containerName: `/${found.session.name}` }), 'utf8').toString('hex');
      await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.parse(`vscode-remote://attached-container+${authority}/`), { forceNewWindow: true });
      return;
    }
    const why = vscode.extensions.getExtension(DEV_CONTAINERS) ? 'Dev Containers attaches to containers of this machine only' : 'the Dev Containers extension is not installed';
    void vscode.window.showInformationMessage(`Opened a terminal in ${found.session.name} instead of a VS Code window: ${why}.`);
    openSessionTerminal(found.session.name, found.host.docker, found.session.containerId);
  }

  async stop(argument: SessionArgument): Promise<void> {
    const found = await this.resolve(argument);
    if (!found) return;
    const { session, host } = found;
    const choice = await vscode.window.showWarningMessage(`Stop cosplay session ${session.name}?`, {
      modal: true, detail: `The container is removed (files outside the mounted folder are lost) and ${host.name} is restored: ${session.restore.map((r) => r.description).join('; ') || 'nothing to undo'}.`,
    }, 'Stop');
    if (choice !== 'Stop') return;
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Stopping ${session.name}` }, () => stopSession(session, host.runner, host.docker, host.sudo));
    this.log.info(`${session.name} stopped; kept: ${outcome.kept.join('; ') || 'none'}; failures: ${outcome.failures.join('; ') || 'none'}`);
    await this.sessions.refresh(host.name);
    if (outcome.failures.length) void vscode.window.showErrorMessage(`${session.name} stopped, but some host settings could not be restored: ${outcome.failures.join('; ')}`);
    else void vscode.window.showInformationMessage(`${session.name} stopped and ${host.name} restored${outcome.kept.length ? ` (kept for the other session on this GPU: ${outcome.kept.join(', ')})` : ''}.`);
  }

  async cleanUpOrphans(): Promise<void> {
    if (!vscode.workspace.isTrusted) return void vscode.window.showErrorMessage('Cleaning up changes GPU hosts: trust this folder first.');
    await this.sessions.refresh();
    const hosts = this.sessions.hostNames();
    let cleaned = 0;
    for (const name of hosts) {
      const host = await this.sessions.host(name);
      if (typeof host === 'string') continue;
      const orphans = await findOrphans(host.docker, host.runner).catch((error: unknown) => (error instanceof DockerFailure ? undefined : Promise.reject(error)));
      if (!orphans || (!orphans.sessions.length && !orphans.mpsFolders.length)) continue;
      const what = [...orphans.sessions.map((s) => `${s.name} (${s.state}): ${s.restore.map((r) => r.description).join(', ') || 'the container'}`), ...orphans.mpsFolders.map((f) => `an MPS daemon folder ${f}`)];
      const choice = await vscode.window.showWarningMessage(`Clean up ${what.length} orphan${what.length > 1 ? 's' : ''} on ${name}?`, { modal: true, detail: what.join('\n') }, 'Clean Up');
      if (choice !== 'Clean Up') continue;
      const failures = await cleanUpOrphans(orphans, host.runner, host.docker, host.sudo);
      cleaned += what.length;
      if (failures.length) void vscode.window.showErrorMessage(`Some orphans on ${name} could not be cleaned up: ${failures.join('; ')}`);
    }
    await this.sessions.refresh();
    if (!cleaned) void vscode.window.showInformationMessage('No orphans: every labelled container runs, and no host change is left behind.');
  }

  /** Runs the shim's bench in the session, saves the report under .gpudev/reports/ and opens it. */
  async benchmark(argument: SessionArgument): Promise<void> {
    const found = await this.resolve(argument);
    if (!found) return;
    const { session, host } = found;
    const stdout = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Benchmarking ${session.name} (GEMM and copy bandwidth)` }, async () => {
      try {
        return (await host.docker.exec(session.containerId, ['python3', `${SHIM_DIR}/bench.py`, '--json'])).stdout;
      } catch (error) {
        return error instanceof DockerFailure ? `${error.failure.message}` : String(error);
      }
    });
    const parsed = parseBenchOutput(stdout);
    if (!parsed.ok) return void vscode.window.showErrorMessage(`Benchmark of ${session.name} failed: ${parsed.error}`);
    const report = fidelityReport(session, parsed.output, new Date());
    await this.showReport(report, true);
    const fp32 = report.rows.find((r) => r.metric === 'fp32');
    if (fp32?.ratio != null && ratioLevel(fp32.ratio) === 'off') {
      const choice = await vscode.window.showInformationMessage(`FP32 measured ${Math.round(fp32.ratio * 100)}% of the ${report.targetName}'s ${fp32.target} TFLOPS. Calibrate the clock lock?`, 'Calibrate');
      if (choice === 'Calibrate') await this.calibrate(session.name);
    }
  }

  /** Bisects the session's clock lock against FP32 (a few short bench runs), then records it in its labels. */
  async calibrate(argument: SessionArgument): Promise<void> {
    const found = await this.resolve(argument);
    if (!found) return;
    const { session, host } = found;
    const choice = await vscode.window.showWarningMessage(`Calibrate the clock lock of ${session.name}?`, {
      modal: true,
      detail: `Up to ${MAX_CALIBRATION_RUNS} FP32 runs at different graphics clocks of GPU ${session.gpuIndex} on ${host.name}. The best clock is recorded in the session's labels, which Docker cannot change: the container is made again from its own settings, so files outside the mounted folder are lost.`,
    }, 'Calibrate');
    if (choice !== 'Calibrate') return;
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Calibrating ${session.name}` }, async (progress) =>
      calibrateSession({
        session, sudo: host.sudo, shimTar: await shimArchive(this.extensionUri.fsPath),
        onRun: (run, i) => progress.report({ message: `run ${i + 1}: ${run.clockMHz} MHz → ${run.fp32.toFixed(1)} TFLOPS` }),
      }, host.runner, host.docker));
    await this.sessions.refresh(host.name);
    this.log.info(`${session.name}: calibration ${outcome.ok ? `${outcome.best.clockMHz} MHz` : outcome.error.message}; runs ${outcome.runs.map((r) => `${r.clockMHz}→${r.fp32.toFixed(1)}`).join(', ')}`);
    if (!outcome.ok) return void vscode.window.showErrorMessage(`Calibration of ${session.name} failed: ${describeError(outcome.error)}. Its clock lock is as it was.`);
    const { best } = outcome;
    const verdict = outcome.withinTolerance ? '' : ' — still more than 10% off: the strategy cannot reach the target (see the plan)';
    const next = await vscode.window.showInformationMessage(`${session.name}: clocks locked at ${best.clockMHz} MHz give ${best.fp32.toFixed(1)} TFLOPS FP32 after ${outcome.runs.length} runs${verdict}.`, 'Benchmark Again');
    if (next === 'Benchmark Again') await this.benchmark(session.name);
  }

  /** Opens a report (saving it first when asked) beside the earlier ones of the workspace. */
  async showReport(report: FidelityReport, save: boolean): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    const dir = folder && vscode.Uri.joinPath(folder.uri, '.gpudev', 'reports');
    const file = dir && vscode.Uri.joinPath(dir, reportFileName(report));
    if (dir && file && save) {
      await vscode.workspace.fs.createDirectory(dir);
      await vscode.workspace.fs.writeFile(file, Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8'));
      this.log.info(`fidelity report saved: ${file.fsPath}`);
    }
    const earlier = dir ? await readReports(dir) : [];
    FidelityPanel.show(this.extensionUri, fidelityView(report, earlier, file ? vscode.workspace.asRelativePath(file) : null), file, this.log);
  }

  /** "Open Fidelity Report…": a saved report of the workspace. */
  async openReport(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    const dir = folder && vscode.Uri.joinPath(folder.uri, '.gpudev', 'reports');
    const reports = dir ? await readReports(dir) : [];
    if (!reports.length) return void vscode.window.showInformationMessage('No fidelity reports in this workspace yet: run "Benchmark" on a cosplay session.');
    const items = [...reports].reverse().map((r) => ({ label: `${r.targetName} on ${r.host}`, description: r.at, detail: `${r.session} · ${r.strategy} on ${r.hostModel}`, report: r }));
    const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Which report? (newest first)', matchOnDescription: true, matchOnDetail: true });
    if (picked) await this.showReport(picked.report, false);
  }
}

async function readReports(dir: vscode.Uri): Promise<FidelityReport[]> {
  const entries = await vscode.workspace.fs.readDirectory(dir).then((e) => e, () => [] as [string, vscode.FileType][]);
  const texts = await Promise.all(entries.filter(([name]) => name.endsWith('.json')).map(([name]) => vscode.workspace.fs.readFile(vscode.Uri.joinPath(dir, name)).then((b) => Buffer.from(b).toString('utf8'), () => '')));
  return texts.map(parseFidelityReport).filter((r): r is FidelityReport => r !== undefined).sort((a, b) => a.at.localeCompare(b.at));
}
