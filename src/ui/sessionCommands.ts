import * as vscode from 'vscode';
import { fidelityReport, parseBenchOutput, ratioLevel, type BenchOutput } from '../cosplay/benchReport';
import { aimText, calibrateSession, MAX_CALIBRATION_RUNS } from '../cosplay/calibrate';
import { fileEfficiencyStore, type EfficiencyRecord } from '../cosplay/efficiency';
import { efficiencyFor } from '../cosplay/unthrottled';
import { describeError } from '../core/errors';
import { SHIM_DIR } from '../cosplay/hostProfile';
import { sessionAge, type Session } from '../cosplay/session';
import { cleanUpOrphans, orphansOf, stopSession, type SessionHost } from '../cosplay/sessions';
import { DockerFailure } from '../hosts/docker';
import { LOCAL_HOST } from '../hosts/runner';
import { attachedContainerUri } from '../remote/devContainerUri';
import type { CosplayHost, CosplaySessions } from './cosplaySessions';
import { openFidelityReport, showFidelityReport } from './fidelityReports';
import { attachProcessSession } from './processAttach';
import { openSessionTerminal } from './sessionTerminal';

const DEV_CONTAINERS = 'ms-vscode-remote.remote-containers';
const REMOTE_SSH = 'ms-vscode-remote.remote-ssh';

/** A session given by its tree item or its name (from notifications and the CLI's hints). */
export type SessionArgument = string | { readonly kind: 'session'; readonly session: Session } | undefined;

/** What restoring a session undoes, in order, from its journal (what it changed, should the journal not say). */
function restores(session: Session, separator: string): string {
  if (session.undoes) return session.undoes.join(separator) || 'nothing to undo on the host';
  return session.changes.length ? `undoes ${session.changes.join(separator)}` : 'nothing to undo on the host';
}

export class SessionCommands {
  constructor(
    private readonly sessions: CosplaySessions,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly state?: vscode.Memento,
  ) {}

  /** The session's name: given, or asked for when several run; undefined (and said why) when none runs. */
  async nameOf(argument: SessionArgument): Promise<string | undefined> {
    const name = typeof argument === 'string' ? argument : (argument?.session.name ?? (await this.sessions.pick()));
    if (!name && !this.sessions.all().some((s) => s.session.running))
      void vscode.window.showInformationMessage('No cosplay session is running. Start one with "GPU: Cosplay as…".');
    return name;
  }

  /** The session and its host, asking which one when there are several and none was given. */
  private async resolve(argument: SessionArgument): Promise<{ session: Session; host: CosplayHost } | undefined> {
    const name = await this.nameOf(argument);
    const found = name ? this.sessions.find(name) : undefined;
    if (!found)
      return name
        ? void vscode.window.showErrorMessage(`No cosplay session ${name}: it may have stopped. Refresh the GPUs view.`)
        : undefined;
    const host = await this.sessions.host(found.host);
    if (typeof host === 'string')
      return void vscode.window.showErrorMessage(`Cannot reach the session's host: ${host}.`);
    return { session: found.session, host };
  }

  /** The running session's container, or undefined (and said why) when it does not run. */
  private async running(
    argument: SessionArgument,
  ): Promise<{ session: Session; host: CosplayHost; containerId: string } | undefined> {
    const found = await this.resolve(argument);
    if (!found) return undefined;
    if (found.session.running && found.session.containerId) return { ...found, containerId: found.session.containerId };
    void vscode.window.showErrorMessage(
      `${found.session.name} is not running${found.session.unrestored ? ` (host not restored: ${found.session.unrestored})` : ''}.`,
    );
    return undefined;
  }

  /** The session's host for stop, clean-up and calibrate; progress notes who holds the GPU's lock while waiting. */
  private async sessionHost(
    host: CosplayHost,
    session: Session,
    progress?: vscode.Progress<{ message?: string }>,
  ): Promise<SessionHost | undefined> {
    const found = await this.sessions.sessionHost(host, session, (heldBy) =>
      progress?.report({ message: `waiting for GPU ${session.gpuIndex}: locked by ${heldBy}` }),
    );
    if (typeof found === 'string') return void vscode.window.showErrorMessage(found);
    return found;
  }

  async openTerminal(argument: SessionArgument): Promise<void> {
    const resolved = await this.resolve(argument);
    if (resolved?.session.process && this.state)
      return attachProcessSession(resolved.session, resolved.host, this.state, true);
    const found = resolved && (await this.running(resolved.session.name));
    if (found) openSessionTerminal(found.session.name, found.host.docker, found.containerId);
  }

  /** Dev Containers' "attach to running container" for sessions on this machine; a terminal otherwise. */
  async attach(argument: SessionArgument): Promise<void> {
    const resolved = await this.resolve(argument);
    if (resolved?.session.process && this.state)
      return attachProcessSession(resolved.session, resolved.host, this.state);
    const found = resolved && (await this.running(resolved.session.name));
    if (!found) return;
    const local = found.host.name === LOCAL_HOST;
    const canNest = local || !!vscode.extensions.getExtension(REMOTE_SSH);
    if (vscode.extensions.getExtension(DEV_CONTAINERS) && canNest) {
      const uri = attachedContainerUri(found.session.name, '/', local ? undefined : found.host.name);
      await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.parse(uri), { forceNewWindow: true });
      return;
    }
    const why = vscode.extensions.getExtension(DEV_CONTAINERS)
      ? 'a container on an SSH host opens in a window only with Remote-SSH installed too'
      : 'the Dev Containers extension is not installed';
    void vscode.window.showInformationMessage(
      `Opened a terminal in ${found.session.name} instead of a VS Code window: ${why}.`,
    );
    openSessionTerminal(found.session.name, found.host.docker, found.containerId);
  }

  /** Stops a session (asking first), or retries the restore of one whose stop left the host changed. */
  async stop(argument: SessionArgument, retry = false): Promise<void> {
    const found = await this.resolve(argument);
    if (!found) return;
    const { session, host } = found;
    if (!retry) {
      const choice = await vscode.window.showWarningMessage(
        `Stop cosplay session ${session.name}?`,
        {
          modal: true,
          detail: `The container is stopped, then ${host.name} is restored from its journal, in this order: ${restores(session, '; ')}. The container is removed once the host is restored (files outside the mounted folder are lost).`,
        },
        'Stop',
      );
      if (choice !== 'Stop') return;
    }
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `${retry ? 'Restoring' : 'Stopping'} ${session.name}` },
      async (progress) => {
        const context = await this.sessionHost(host, session, progress);
        return context && stopSession(session, context);
      },
    );
    if (!outcome) return;
    this.log.info(
      `${session.name}: undone ${outcome.undone.join('; ') || 'nothing'}; kept ${outcome.kept.join('; ') || 'nothing'}${outcome.failure ? `; host not restored: ${outcome.failure}` : ''}`,
    );
    await this.sessions.refresh(host.name);
    if (outcome.failure) {
      const again = await vscode.window.showErrorMessage(
        `${session.name} stopped — host not restored: ${outcome.failure}`,
        'Retry',
      );
      if (again === 'Retry') await this.stop(session.name, true);
      return;
    }
    const kept = outcome.kept.length ? ` Kept for the other session on this GPU: ${outcome.kept.join(', ')}.` : '';
    void vscode.window.showInformationMessage(
      `${session.name} stopped and ${host.name} restored: ${outcome.undone.join(', ') || 'nothing to undo'}.${kept}`,
    );
  }

  async cleanUpOrphans(): Promise<void> {
    if (!vscode.workspace.isTrusted)
      return void vscode.window.showErrorMessage('Cleaning up changes GPU hosts: trust this folder first.');
    await this.sessions.refresh();
    let cleaned = 0;
    for (const name of this.sessions.hostNames()) {
      const host = await this.sessions.host(name);
      if (typeof host === 'string') continue;
      const orphans = orphansOf({
        sessions: this.sessions
          .all()
          .filter((s) => s.host === name)
          .map((s) => s.session),
        foreign: [],
        problems: [],
      });
      if (!orphans.length) continue;
      const what = orphans.map(
        (s) => `${s.name} (${s.owner}, ${sessionAge(s)}, container ${s.state}): ${restores(s, ', ')}`,
      );
      const choice = await vscode.window.showWarningMessage(
        `Clean up ${what.length} orphan${what.length > 1 ? 's' : ''} on ${name}?`,
        { modal: true, detail: `Each is restored from its host journal, in this order:\n${what.join('\n')}` },
        'Clean Up',
      );
      if (choice !== 'Clean Up') continue;
      const failures: string[] = [];
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Cleaning up on ${name}` },
        async (progress) => {
          for (const orphan of orphans) {
            const context = await this.sessionHost(host, orphan, progress);
            if (!context) continue;
            const result = await cleanUpOrphans([orphan], context);
            cleaned += result.cleaned.length;
            failures.push(...result.failures);
          }
        },
      );
      if (failures.length)
        void vscode.window.showErrorMessage(`Some orphans on ${name} could not be cleaned up: ${failures.join('; ')}`);
    }
    await this.sessions.refresh();
    if (!cleaned)
      void vscode.window.showInformationMessage(
        'No orphans: every session in the host journals has a running container.',
      );
    else
      void vscode.window.showInformationMessage(
        `${cleaned} orphan${cleaned > 1 ? 's' : ''} cleaned up: the host is restored.`,
      );
  }

  /** Runs the shim's bench in the session, saves the report under .gpudev/reports/ and opens it. */
  async benchmark(argument: SessionArgument): Promise<void> {
    const found = await this.running(argument);
    if (!found) return;
    const { session, host, containerId } = found;
    const stdout = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Benchmarking ${session.name} (GEMM and copy bandwidth)`,
      },
      async () => {
        try {
          return (await host.docker.exec(containerId, ['python3', `${SHIM_DIR}/bench.py`, '--json'])).stdout;
        } catch (error) {
          return error instanceof DockerFailure ? `${error.failure.message}` : String(error);
        }
      },
    );
    const parsed = parseBenchOutput(stdout);
    if (!parsed.ok) return void vscode.window.showErrorMessage(`Benchmark of ${session.name} failed: ${parsed.error}`);
    const efficiency = await this.hostEfficiency(found, parsed.output);
    const report = fidelityReport(session, parsed.output, new Date(), efficiency);
    await showFidelityReport(this.extensionUri, this.log, report, true);
    const fp32 = report.rows.find((r) => r.metric === 'fp32');
    const ratio = fp32?.achievableRatio ?? fp32?.ratio ?? null;
    if (fp32 && ratio !== null && ratioLevel(ratio) === 'off') {
      const against = fp32.achievable
        ? `achievable ${fp32.achievable.toFixed(1)} TFLOPS (datasheet ${fp32.target} × this host's efficiency)`
        : `datasheet ${fp32.target} TFLOPS`;
      const choice = await vscode.window.showInformationMessage(
        `FP32 measured ${Math.round(ratio * 100)}% of the ${report.targetName}'s ${against}. Calibrate the clock lock?`,
        'Calibrate',
      );
      if (choice === 'Calibrate') await this.calibrate(session.name);
    }
  }

  /** The host's efficiency for the container's versions: stored, or measured un-throttled now (once per host model, driver and torch). */
  private async hostEfficiency(
    found: { session: Session; host: CosplayHost },
    output: BenchOutput,
  ): Promise<EfficiencyRecord | undefined> {
    const { session, host } = found;
    const store = fileEfficiencyStore();
    const versions = output.versions ?? {};
    const stored = await store.find(session.plan.host, versions);
    if (stored) return stored;
    const measured = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Measuring the host's own efficiency with ${session.name}'s clock lock and power cap lifted (once per host model, driver and torch)`,
      },
      async (progress) => {
        const context = await this.sessionHost(host, session, progress);
        return context && efficiencyFor(session, context, store, versions);
      },
    );
    if (measured && 'message' in measured)
      void vscode.window.showWarningMessage(
        `No achievable rates in this report: the host's efficiency could not be measured: ${describeError(measured)}`,
      );
    return measured && !('message' in measured) ? measured : undefined;
  }

  /** Bisects the session's clock lock against FP32 (a few short bench runs), then records it in its labels. */
  async calibrate(argument: SessionArgument): Promise<void> {
    const found = await this.running(argument);
    if (!found) return;
    const { session, host } = found;
    const choice = await vscode.window.showWarningMessage(
      `Calibrate the clock lock of ${session.name}?`,
      {
        modal: true,
        detail: `Up to ${MAX_CALIBRATION_RUNS} FP32 runs at different graphics clocks of GPU ${session.gpuIndex} on ${host.name}, under the GPU's host lock. The best clock is recorded in the host journal; if calibration fails the clocks go back as they were.`,
      },
      'Calibrate',
    );
    if (choice !== 'Calibrate') return;
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Calibrating ${session.name}` },
      async (progress) => {
        const context = await this.sessionHost(host, session, progress);
        return (
          context &&
          calibrateSession(
            {
              session,
              onRun: (run, i) =>
                progress.report({ message: `run ${i + 1}: ${run.clockMHz} MHz → ${run.fp32.toFixed(1)} TFLOPS` }),
            },
            context,
          )
        );
      },
    );
    if (!outcome) return;
    await this.sessions.refresh(host.name);
    this.log.info(
      `${session.name}: calibration ${outcome.ok ? `${outcome.best.clockMHz} MHz` : outcome.error.message}; runs ${outcome.runs.map((r) => `${r.clockMHz}→${r.fp32.toFixed(1)}`).join(', ')}`,
    );
    if (!outcome.ok)
      return void vscode.window.showErrorMessage(
        `Calibration of ${session.name} failed: ${describeError(outcome.error)}. Its clock lock is as it was.`,
      );
    const { best } = outcome;
    const verdict = outcome.withinTolerance
      ? ''
      : ' — still more than 10% off: the strategy cannot reach the target (see the plan)';
    const next = await vscode.window.showInformationMessage(
      `${session.name}: clocks locked at ${best.clockMHz} MHz give ${best.fp32.toFixed(1)} TFLOPS FP32 after ${outcome.runs.length} runs (${aimText(outcome)})${verdict}.`,
      'Benchmark Again',
    );
    if (next === 'Benchmark Again') await this.benchmark(session.name);
  }

  /** "Open Fidelity Report…": a saved report of the workspace. */
  openReport(): Promise<void> {
    return openFidelityReport(this.extensionUri, this.log);
  }
}
