// Helpers of the host tier: the extension under test, its package.json as VS Code loaded it, waiting,
// printing beside mocha's report, and the prompts of VS Code's window answered by the test.
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { GpuDevTestApi } from '../../src/ui/testApi';

export const EXTENSION_ID = 'gpu-devenv.gpu-devenv';

export interface Contributions {
  commands: Array<{ command: string; title: string }>;
  menus: Record<string, Array<{ command: string; when?: string }>>;
  views: Record<string, Array<{ id: string }>>;
  viewsWelcome: Array<{ view: string; contents: string; when?: string }>;
  configuration: { properties: Record<string, { default?: unknown }> };
  walkthroughs: Array<{
    id: string;
    steps: Array<{ id: string; description: string; media: { markdown: string }; completionEvents: string[] }>;
  }>;
}

export function ourExtension(): vscode.Extension<GpuDevTestApi | undefined> {
  const extension = vscode.extensions.getExtension<GpuDevTestApi | undefined>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not loaded in this extension host`);
  return extension;
}

/** Activates the extension (a no-op once active) and returns its test API. */
export async function testApi(): Promise<GpuDevTestApi> {
  const api = await ourExtension().activate();
  if (!api) throw new Error('the extension exported no test API: is GPUDEV_TEST_API set in the extension host?');
  return api;
}

export function contributions(): Contributions {
  return (ourExtension().packageJSON as { contributes: Contributions }).contributes;
}

/** The repository: the extension under development is loaded from its root. */
export const repoRoot = (): string => ourExtension().extensionPath;
export const fixture = (...parts: string[]): string => path.join(repoRoot(), 'test/fixtures', ...parts);

/** A line in mocha's report, under the current test. */
export function note(text: string): void {
  Mocha.reporters.Base.consoleLog(`      ${text}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined (or false); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

type Item = vscode.QuickPickItem | string;
export interface Prompted {
  kind: 'quickPick' | 'inputBox' | 'information' | 'warning' | 'error';
  title: string;
  items: string[];
}

/**
 * Answers the window's prompts while `body` runs, as a user would: each quick pick by the first
 * chooser in `picks` (none left: dismissed), every input box and message dismissed. The extension
 * shares this extension host's `vscode` module, so it meets these answers instead of the UI.
 * Returns what was asked, in order.
 */
export async function answering(
  picks: Array<(items: vscode.QuickPickItem[]) => vscode.QuickPickItem | undefined>,
  body: () => Thenable<unknown>,
): Promise<Prompted[]> {
  const window = vscode.window as unknown as Record<string, unknown>;
  const names = [
    'showQuickPick',
    'createQuickPick',
    'showInputBox',
    'showInformationMessage',
    'showWarningMessage',
    'showErrorMessage',
  ] as const;
  const originals = new Map(names.map((name) => [name, window[name]]));
  const asked: Prompted[] = [];
  const message =
    (kind: Prompted['kind']) =>
    (text: string, ...rest: unknown[]) => {
      const buttons = rest.flatMap((r) =>
        typeof r === 'string' ? [r] : typeof r === 'object' && r !== null && 'title' in r ? [String(r.title)] : [],
      );
      asked.push({ kind, title: text, items: buttons });
      return Promise.resolve(undefined);
    };
  window.showQuickPick = async (items: Item[] | Thenable<Item[]>, options?: vscode.QuickPickOptions) => {
    const list = (await items).map((item) => (typeof item === 'string' ? { label: item } : item));
    asked.push({
      kind: 'quickPick',
      title: options?.title ?? options?.placeHolder ?? '',
      items: list.map((i) => i.label),
    });
    const chosen = picks.shift()?.(list.filter((i) => i.kind !== vscode.QuickPickItemKind.Separator));
    return chosen && (typeof (await items)[0] === 'string' ? chosen.label : chosen);
  };
  // A quick pick made with createQuickPick is answered the same way, once shown.
  window.createQuickPick = () => {
    const [accepted, hidden, changed] = [
      new vscode.EventEmitter<void>(),
      new vscode.EventEmitter<void>(),
      new vscode.EventEmitter<string>(),
    ];
    const quickPick = {
      title: undefined as string | undefined,
      placeholder: undefined as string | undefined,
      items: [] as vscode.QuickPickItem[],
      selectedItems: [] as vscode.QuickPickItem[],
      onDidAccept: accepted.event,
      onDidHide: hidden.event,
      onDidChangeValue: changed.event,
      show: () =>
        setTimeout(() => {
          asked.push({
            kind: 'quickPick',
            title: quickPick.title ?? quickPick.placeholder ?? '',
            items: quickPick.items.map((i) => i.label),
          });
          const chosen = picks.shift()?.(quickPick.items.filter((i) => i.kind !== vscode.QuickPickItemKind.Separator));
          if (!chosen) return quickPick.hide();
          quickPick.selectedItems = [chosen];
          accepted.fire();
        }),
      hide: () => hidden.fire(),
      dispose: () => [accepted, hidden, changed].forEach((emitter) => emitter.dispose()),
    };
    return quickPick;
  };
  window.showInputBox = (options?: vscode.InputBoxOptions) => {
    asked.push({ kind: 'inputBox', title: options?.title ?? options?.prompt ?? '', items: [] });
    return Promise.resolve(undefined);
  };
  window.showInformationMessage = message('information');
  window.showWarningMessage = message('warning');
  window.showErrorMessage = message('error');
  try {
    await body();
  } finally {
    for (const [name, original] of originals) window[name] = original;
  }
  return asked;
}

/** The tabs showing a webview of ours, by their title. */
export function webviewTabs(viewType: string): string[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith(viewType))
    .map((tab) => tab.label);
}
