// Settings that decide what runs where or as whom: only the user may set them, never a workspace
// (a cloned repository's .vscode/settings.json or .code-workspace file). package.json gives each
// `"scope": "machine"` and lists it in `capabilities.untrustedWorkspaces.restrictedConfigurations`.
//
// VS Code itself drops workspace and folder values of machine-scoped settings (its WORKSPACE_SCOPES
// and FOLDER_SCOPES leave MACHINE out): `get()` and `inspect()` never see them (checked in code-server
// 4.139 / VS Code 1.139). In a Remote window they belong in the Remote settings: desktop VS Code leaves
// MACHINE out of the local User settings there (LOCAL_MACHINE_SCOPES), and the Settings editor lists
// them only under Remote (code-server too, though it still applies a User value). The extension reads them as
// `inspect().globalValue ?? defaultValue`, so a workspace value never counts even where a scope is
// not honoured, and reads the workspace's settings files itself only to tell the user what it ignored.

/** The keys, under `gpuDev.`. */
export const MACHINE_SETTINGS = ['cosplay.sudo', 'cosplay.image', 'ssh.configFile', 'hosts', 'clusters'] as const;
export type MachineSetting = (typeof MACHINE_SETTINGS)[number];

/** JSON with comments and trailing commas (settings.json, .code-workspace), or undefined when it is not that. */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  try {
    return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1')) as unknown;
  } catch {
    return undefined;
  }
}

/** Where the string starting at `start` (a quote) ends, just after its closing quote. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether a settings object sets `key` (dotted), flat ("gpuDev.hosts") or nested ({ "gpuDev": { "hosts" } }) as VS Code reads both. */
export function setsKey(settings: unknown, key: string): boolean {
  if (!isObject(settings)) return false;
  if (settings[key] !== undefined) return true;
  const parts = key.split('.');
  for (let n = 1; n < parts.length; n++) {
    if (setsKey(settings[parts.slice(0, n).join('.')], parts.slice(n).join('.'))) return true;
  }
  return false;
}

/** Which of our machine settings a workspace settings file sets: `.vscode/settings.json` itself, or a `.code-workspace` file's "settings". */
export function machineSettingsIn(text: string, kind: 'folder' | 'workspaceFile'): MachineSetting[] {
  const parsed = parseJsonc(text);
  const settings = kind === 'workspaceFile' ? (isObject(parsed) ? parsed['settings'] : undefined) : parsed;
  return MACHINE_SETTINGS.filter((key) => setsKey(settings, `gpuDev.${key}`));
}
