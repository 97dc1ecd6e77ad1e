// What the workspace's `.gpudev.yaml` says the commands should start from (a trusted workspace only: a
// cloned repository's file may name a target, never make anything run).
import * as vscode from 'vscode';
import type { SessionDefaults } from '../workspace/sessionDefaults';
import { workspaceModule } from './analyzePanel';
import type { ReservePrefill } from './reservePanel';

/** The first workspace folder's `.gpudev.yaml`, when it is there and reads cleanly. */
async function workspaceConfig() {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder || !vscode.workspace.isTrusted) return undefined;
  const workspace = workspaceModule();
  const file = vscode.Uri.joinPath(folder.uri, workspace.CONFIG_FILE);
  const bytes = await vscode.workspace.fs.readFile(file).then(
    (data) => data,
    () => undefined,
  );
  if (!bytes || bytes.byteLength > 1024 * 1024) return undefined;
  const parsed = workspace.parseGpudevConfig(Buffer.from(bytes).toString('utf8'));
  return parsed.ok ? parsed.config : undefined;
}

/** `gpu.target` of the workspace's `.gpudev.yaml`. */
export async function workspaceTarget(): Promise<string | undefined> {
  return (await workspaceConfig())?.gpu?.target;
}

/** The image, environment and setup a cosplay session takes from the workspace's `.gpudev.yaml`. */
export async function workspaceSession(): Promise<SessionDefaults | undefined> {
  const config = await workspaceConfig();
  return config && workspaceModule().sessionDefaults(config);
}

/** The reservation form's values the workspace's `.gpudev.yaml` names (GPU: Reserve GPUs… starts from them). */
export async function workspaceReservePrefill(): Promise<ReservePrefill | undefined> {
  const config = await workspaceConfig();
  if (!config) return undefined;
  const prefill: ReservePrefill = {
    ...(config.cluster && { cluster: config.cluster }),
    ...(config.gpu?.types?.length && { types: config.gpu.types.join(', ') }),
    ...(config.gpu?.count && { count: config.gpu.count }),
    ...(config.time && { time: config.time }),
    ...(config.partition && { partition: config.partition }),
  };
  return Object.keys(prefill).length ? prefill : undefined;
}
