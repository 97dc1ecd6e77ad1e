import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { duplicateOf, hostNameFor, reachHost, withHostChanged, withHostRemoved } from '../hosts/hostListEdits';
import type { Runner } from '../hosts/runner';
import { parseHostSpec } from '../hosts/sshConfig';
import type { HostEntry } from '../hosts/sshHosts';

/** A host item of the GPUs view, as its context menu passes it. */
export interface HostArgument {
  readonly name: string;
}

const specProblem = (value: string): string | undefined => {
  const parsed = parseHostSpec(value);
  return 'message' in parsed ? describeError(parsed) : undefined;
};

async function sshConfigAliases(): Promise<string[]> {
  const text = await fs.readFile(path.join(os.homedir(), '.ssh', 'config'), 'utf8').catch(() => '');
  const aliases = text.split(/\r?\n/).flatMap((line) => {
    const match = /^\s*Host\s+(.+)$/i.exec(line);
    return match ? match[1]!.trim().split(/\s+/) : [];
  });
  return [...new Set(aliases.filter((alias) => !/[*?!]/.test(alias)))];
}

/** An alias of the user's ssh config, or what they type (user@host[:port]) straight into the same picker. */
async function pickSpec(aliases: readonly string[]): Promise<string | undefined> {
  const picker = vscode.window.createQuickPick();
  picker.title = 'Add SSH Host';
  picker.placeholder = aliases.length
    ? 'A host from your ssh config, or type user@host[:port]'
    : 'No Host entries in ~/.ssh/config: type user@host[:port]';
  const fromConfig = aliases.map((alias) => ({ label: alias, description: 'from ~/.ssh/config' }));
  picker.items = fromConfig;
  picker.onDidChangeValue((value) => {
    const typed = value.trim();
    if (!typed || aliases.includes(typed)) return void (picker.items = fromConfig);
    const problem = specProblem(typed);
    const item = { label: typed, description: problem ? '' : 'add this host', detail: problem, alwaysShow: true };
    // An alias the typed text is part of stays first: Enter picks it, as it did before typing went on.
    const partOfAlias = aliases.some((alias) => alias.includes(typed));
    picker.items = partOfAlias ? [...fromConfig, item] : [item, ...fromConfig];
  });
  try {
    return await new Promise<string | undefined>((resolve) => {
      picker.onDidAccept(() => {
        const chosen = picker.selectedItems[0]?.label ?? picker.value.trim();
        if (chosen && !specProblem(chosen)) resolve(chosen);
      });
      picker.onDidHide(() => resolve(undefined));
      picker.show();
    });
  } finally {
    picker.dispose();
  }
}

/** Tries the host before it is saved; when it cannot be reached, the user says what to do. */
async function checkedSpec(spec: string, name: string, local: Runner): Promise<string | undefined> {
  for (let current = spec; ;) {
    const entry: HostEntry = { name, ssh: current };
    const problem = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Connecting to ${current}…` },
      () =>
        reachHost(entry, local, {
          askPassphrase: (keyFile) =>
            Promise.resolve(
              vscode.window.showInputBox({ title: `Passphrase of ${keyFile}`, password: true, ignoreFocusOut: true }),
            ),
        }),
    );
    if (!problem) return current;
    const choice = await vscode.window.showWarningMessage(
      `${current} could not be reached`,
      {
        modal: true,
        detail: `${describeError(problem)}\n\nSave it anyway (it shows as unreachable until it answers), or edit it.`,
      },
      'Save Anyway',
      'Edit',
    );
    if (choice === 'Save Anyway') return current;
    if (choice !== 'Edit') return undefined;
    const edited = await vscode.window.showInputBox({
      title: 'Add SSH Host',
      prompt: 'An ssh alias or user@host[:port]',
      value: current,
      validateInput: specProblem,
    });
    if (!edited) return undefined;
    current = edited.trim();
  }
}

/** The user's own list, never the merged value: a workspace's entries must not be written into it. */
function userHosts(): { config: vscode.WorkspaceConfiguration; list: unknown[] } {
  const config = vscode.workspace.getConfiguration('gpuDev');
  const raw = config.inspect<unknown>('hosts')?.globalValue;
  return { config, list: Array.isArray(raw) ? raw : [] };
}

const save = (config: vscode.WorkspaceConfiguration, list: unknown[]) =>
  config.update('hosts', list, vscode.ConfigurationTarget.Global);

/** "GPU: Add SSH Host…": an alias of the user's ssh config, or user@host[:port], tried, then written to gpuDev.hosts. */
export async function addSshHost(local: Runner): Promise<void> {
  const picked = await pickSpec(await sshConfigAliases());
  if (!picked) return;
  const name = hostNameFor(picked);
  const known = duplicateOf(userHosts().list, picked, name);
  if (known)
    return void vscode.window.showInformationMessage(`${picked} is already in gpuDev.hosts as "${known.name}".`);
  const spec = await checkedSpec(picked, name, local);
  if (!spec) return;
  const { config, list } = userHosts();
  await save(config, [...list, { name: hostNameFor(spec), ssh: spec }]);
}

/** Tells where an entry the user's list does not hold is set, with the way there. */
async function notInUserList(name: string): Promise<void> {
  const open = 'Open Settings (JSON)';
  const choice = await vscode.window.showInformationMessage(
    `"${name}" is not in your own gpuDev.hosts (User or Remote settings): edit it where it is set.`,
    open,
  );
  if (choice === open) await vscode.commands.executeCommand('workbench.action.openSettingsJson');
}

/** "Edit Host…" on a host's item: its ssh target, tried again before it is saved. */
export async function editSshHost(local: Runner, host?: HostArgument): Promise<void> {
  if (!host) return;
  const entry = (userHosts().list as Array<{ name?: unknown; ssh?: unknown }>).find((e) => e?.name === host.name);
  if (typeof entry?.ssh !== 'string') return notInUserList(host.name);
  const typed = await vscode.window.showInputBox({
    title: `Edit SSH Host "${host.name}"`,
    prompt: 'An ssh alias or user@host[:port]',
    value: entry.ssh,
    validateInput: (value) => {
      const problem = specProblem(value);
      if (problem) return problem;
      const other = duplicateOf(userHosts().list, value, host.name, host.name);
      return other ? `"${other.name}" already connects there` : undefined;
    },
  });
  if (!typed || typed.trim() === entry.ssh) return;
  const spec = await checkedSpec(typed.trim(), host.name, local);
  if (!spec) return;
  const { config, list } = userHosts();
  const changed = withHostChanged(list, host.name, spec);
  if (changed) await save(config, changed);
}

/** "Remove Host" on a host's item, after a modal naming it. */
export async function removeSshHost(host?: HostArgument): Promise<void> {
  if (!host) return;
  if (!withHostRemoved(userHosts().list, host.name)) return notInUserList(host.name);
  const choice = await vscode.window.showWarningMessage(
    `Remove "${host.name}" from gpuDev.hosts?`,
    { modal: true, detail: 'Its GPUs leave the GPUs view. Sessions on it keep running; add it again to see them.' },
    'Remove',
  );
  if (choice !== 'Remove') return;
  const { config, list } = userHosts();
  const kept = withHostRemoved(list, host.name);
  if (kept) await save(config, kept);
}
