// Apply as a process session from the extension (the host has no usable Docker, or the user chose it):
// the user's own MPS daemon and sshd on the host, the root-only steps made with the host's sudo
// setting (else said with their cost), then Attach through the session's own sshd.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { newSessionName } from '../cosplay/apply';
import { localOwner } from '../cosplay/hostJournal';
import { shimArchive } from '../cosplay/hostProfile';
import type { PlannedGpu } from '../cosplay/multiPlan';
import type { CosplayPlan } from '../cosplay/planner';
import { applyProcessSession, type ProcessApplyOutcome } from '../cosplay/process/processSession';
import type { Session } from '../cosplay/session';
import { describeError } from '../core/errors';
import { LocalRunner } from '../hosts/runner';
import { defaultSshConfigFile } from '../reserve/attach';
import { sessionKey } from '../remote/sessionHostEntry';
import { confirmBusyGpu, type ApplyContext, type ApplyTarget } from './applyCosplay';
import { workspaceSession } from './workspaceDefaults';

export async function applyProcessPlan(
  context: ApplyContext,
  plan: CosplayPlan,
  on: ApplyTarget,
  gpus?: readonly PlannedGpu[],
): Promise<Session | undefined> {
  const host = await context.sessions.host(on.host);
  if (typeof host === 'string') {
    void vscode.window.showErrorMessage(`Cannot apply the cosplay: ${host}.`);
    return undefined;
  }
  const fromWorkspace = await workspaceSession();
  const indices = gpus ? gpus.map((g) => g.gpuIndex) : [on.gpu.index];
  const sessionName = newSessionName(plan.target.key, gpus && gpus.length > 1 ? indices : on.gpu.index);
  const where = `GPU ${indices.join(', ')}`;
  const title = `Cosplay ${plan.target.name}${indices.length > 1 ? ` ×${indices.length}` : ''} on ${on.host}, ${where}, as processes`;
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title },
    async (progress): Promise<ProcessApplyOutcome> => {
      context.log.info(`${title}: applying as ${sessionName}${host.sudo ? ' (root-only steps with sudo)' : ''}`);
      const key = await sessionKey(path.dirname(defaultSshConfigFile()), new LocalRunner());
      if ('message' in key) return { ok: false, error: key, failedStep: 'make the session key', restored: true };
      return applyProcessSession(
        {
          plan: gpus?.[0]?.plan ?? plan,
          gpuIndex: on.gpu.index,
          ...(gpus && gpus.length > 1 && { gpus }),
          hostLabel: on.host,
          sessionName,
          owner: localOwner(),
          shimTar: await shimArchive(context.extensionUri.fsPath, 'shim'),
          authorizedKeys: [key.publicKey],
          extraEnv: { ...fromWorkspace?.env, ...host.testProfile?.env },
          sudo: host.sudo,
          confirmBusy: (processes) => confirmBusyGpu(on, processes),
          onStep: (step) => {
            context.log.info(`${sessionName}: ${step}`);
            progress.report({ message: step });
          },
        },
        host.runner,
      );
    },
  );
  await context.sessions.refresh(on.host);
  if (!outcome.ok) {
    const undone = outcome.restored
      ? 'Every earlier step was undone: the host is as it was.'
      : 'Some steps could not be undone: run "GPU: Clean Up Orphans".';
    context.log.error(`${title}: failed at "${outcome.failedStep}": ${describeError(outcome.error)}`);
    const message = `Cosplay failed at "${outcome.failedStep}": ${describeError(outcome.error)}. ${undone}`;
    void vscode.window.showErrorMessage(message, { modal: !outcome.restored });
    return undefined;
  }
  const { notApplied } = outcome.session;
  notApplied.forEach((note) => context.log.warn(`${sessionName}: ${note}`));
  context.log.info(`${sessionName} is running as processes (sshd on port ${outcome.session.sshd.port})`);
  void vscode.window
    .showInformationMessage(
      `${plan.target.name} session ${sessionName} is running on ${on.host}, ${where}, as processes${notApplied.length ? ` (${notApplied.length} step${notApplied.length > 1 ? 's' : ''} not applied without root: see the log)` : ''}.`,
      'Attach',
      'Open Terminal',
    )
    .then((choice) => {
      if (choice === 'Attach') void vscode.commands.executeCommand('gpuDev.attachToSession', sessionName);
      if (choice === 'Open Terminal') void vscode.commands.executeCommand('gpuDev.openSessionTerminal', sessionName);
    });
  return context.sessions.find(sessionName)?.session;
}
