import * as vscode from 'vscode';
import { machineSettingsIn, type MachineSetting } from '../core/machineSettings';
import type { GaugeThresholds } from '../monitor/gauge';
import { parseHostEntries } from '../hosts/sshHosts';

export interface MonitorSettings extends GaugeThresholds {
  readonly intervalMs: number;
  readonly statusBarEnabled: boolean;
}

const MIN_INTERVAL_MS = 250;

export function readMonitorSettings(): MonitorSettings {
  const config = vscode.workspace.getConfiguration('gpuDev');
  const percent = (key: string, fallback: number) => Math.min(100, Math.max(1, config.get<number>(key, fallback)));
  return {
    intervalMs: Math.max(MIN_INTERVAL_MS, config.get<number>('monitor.intervalMs', 2000)),
    warnPercent: percent('monitor.warnPercent', 80),
    errorPercent: percent('monitor.errorPercent', 95),
    statusBarEnabled: config.get<boolean>('statusBar.enabled', true),
  };
}

/**
 * One of the settings only the user may set (see src/core/machineSettings.ts): the User (or, in a
 * Remote window, Remote) value, else the default. A workspace or folder value is never used; the
 * first time one is seen in this window, a notice says so.
 */
export function machineSetting<T>(key: MachineSetting): T | undefined {
  const seen = vscode.workspace.getConfiguration('gpuDev').inspect<T>(key);
  if (seen?.workspaceValue !== undefined || seen?.workspaceFolderValue !== undefined) noticeIgnored([key]);
  return seen?.globalValue ?? seen?.defaultValue;
}

const noticed = new Set<MachineSetting>();

/** Says, once per setting per window, that this workspace's value is ignored, and where to set it instead. */
function noticeIgnored(keys: readonly MachineSetting[]): void {
  const fresh = keys.filter((key) => !noticed.has(key));
  if (!fresh.length) return;
  fresh.forEach((key) => noticed.add(key));
  // In a Remote window (Remote-SSH, Dev Containers, WSL, code-server) machine settings belong in the
  // Remote settings: VS Code's Settings editor lists them only there.
  const remote = vscode.env.remoteName !== undefined;
  const where = remote ? 'Remote settings' : 'User settings';
  const names = fresh.map((key) => `gpuDev.${key}`).join(', ');
  const open = `Open ${where}`;
  void vscode.window
    .showWarningMessage(
      `Ignored: this workspace sets ${names}. Settings that decide what runs where, or as whom, are read only from your ${where}, never from a workspace: a cloned repository must not set them.`,
      open,
    )
    .then((choice) => {
      if (choice !== open) return;
      const query = fresh.length === 1 ? `@id:gpuDev.${fresh[0]!}` : '@ext:gpu-devenv.gpu-devenv';
      void vscode.commands.executeCommand(
        remote ? 'workbench.action.openRemoteSettings' : 'workbench.action.openGlobalSettings',
        { query },
      );
    });
}

/**
 * Reads the workspace's own settings files (each folder's .vscode/settings.json and the
 * .code-workspace file) for our machine settings: VS Code drops those values before `inspect()`
 * could show them, so this is the only way to tell the user they were ignored.
 */
export async function noticeWorkspaceMachineSettings(): Promise<void> {
  const files: Array<{ uri: vscode.Uri; kind: 'folder' | 'workspaceFile' }> = (
    vscode.workspace.workspaceFolders ?? []
  ).map((folder) => ({ uri: vscode.Uri.joinPath(folder.uri, '.vscode', 'settings.json'), kind: 'folder' as const }));
  const workspaceFile = vscode.workspace.workspaceFile;
  if (workspaceFile && workspaceFile.scheme !== 'untitled') files.push({ uri: workspaceFile, kind: 'workspaceFile' });
  const found = await Promise.all(
    files.map(async ({ uri, kind }) => {
      try {
        return machineSettingsIn(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), kind);
      } catch {
        return []; // no such file
      }
    }),
  );
  noticeIgnored([...new Set(found.flat())]);
}

/** Whether a saved file is one of the workspace's settings files. */
export function isWorkspaceSettingsFile(uri: vscode.Uri): boolean {
  return uri.path.endsWith('/.vscode/settings.json') || uri.toString() === vscode.workspace.workspaceFile?.toString();
}

/** Whether a host of gpuDev.hosts is marked `simulated` (the demo lab's): its views say so. */
export function isSimulatedHost(host: string): boolean {
  return parseHostEntries(machineSetting('hosts')).hosts.some((h) => h.name === host && h.simulated === true);
}
