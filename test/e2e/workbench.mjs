// Opens the packaged extension in real VS Code (code-server) in Debian's Chromium, driven by playwright-core.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import {
  ensureCodeServer,
  freePort,
  installExtension,
  repoRoot,
  startCodeServer,
  writeUserSettings,
} from '../../scripts/codeServer.mjs';

export const screenshotDir = path.join(repoRoot, 'test/e2e/screenshots');
const fakeGpuBin = path.join(repoRoot, 'lab/fake-gpu/bin');
const vsix = path.join(repoRoot, 'dist/gpu-devenv.vsix');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

let codeServer;

/** PATH entries that hold no nvidia-smi, so only the fake (or nothing) answers. */
function pathWithoutNvidiaSmi() {
  return (process.env.PATH ?? '').split(':').filter((dir) => dir && !fs.existsSync(path.join(dir, 'nvidia-smi')));
}

/**
 * Starts code-server with the .vsix installed and opens the workbench.
 * VS Code's server takes PATH from the user's login shell, as it would for a real user, so the
 * fake nvidia-smi is put first on PATH by that shell's profile.
 * `scenario`: a fixture name for the fake nvidia-smi, or null for a machine without the driver.
 * `homeFiles` and `workspaceFiles`: files to write (path → content) in the home and workspace folders.
 */
export async function openWorkbench({
  scenario,
  settings = {},
  homeFiles = {},
  workspaceFiles = {},
  env: extraEnv = {},
}) {
  codeServer ??= ensureCodeServer();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-e2e-'));
  const dirs = {
    home: path.join(tmp, 'home'),
    userData: path.join(tmp, 'user-data'),
    extensions: path.join(tmp, 'extensions'),
    workspace: path.join(tmp, 'workspace'),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  const scenarioFile = path.join(tmp, 'gpu-scenario');
  fs.writeFileSync(scenarioFile, scenario ?? '');
  const shellPath = [...(scenario ? [fakeGpuBin] : []), ...pathWithoutNvidiaSmi()].join(':');
  const exports = Object.entries({ PATH: shellPath, ...extraEnv }).map(
    ([name, value]) => `export ${name}='${value}'\n`,
  );
  fs.writeFileSync(path.join(dirs.home, '.bash_profile'), exports.join(''));
  for (const [file, content] of Object.entries(homeFiles)) {
    fs.mkdirSync(path.dirname(path.join(dirs.home, file)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dirs.home, file), content, { mode: 0o600 });
  }
  for (const [file, content] of Object.entries(workspaceFiles)) {
    fs.mkdirSync(path.dirname(path.join(dirs.workspace, file)), { recursive: true });
    fs.writeFileSync(path.join(dirs.workspace, file), content);
  }
  installExtension(codeServer, vsix, dirs.extensions);
  writeUserSettings(dirs.userData, {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    ...settings,
  });
  const env = {
    ...process.env,
    ...extraEnv,
    HOME: dirs.home,
    SHELL: '/bin/bash',
    PATH: shellPath,
    GPUDEV_FAKE_SMI_SCENARIO_FILE: scenarioFile,
  };
  const server = await startCodeServer(codeServer, {
    port: await freePort(),
    userDataDir: dirs.userData,
    extensionsDir: dirs.extensions,
    folder: dirs.workspace,
    env,
    extraArgs: ['--log', 'debug'],
  });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(server.url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return {
    page,
    home: dirs.home,
    workspace: dirs.workspace,
    /** The User settings file written at start, and the Remote ones (code-server's window is a Remote window). */
    userSettingsFile: path.join(dirs.userData, 'User/settings.json'),
    remoteSettingsFile: path.join(dirs.userData, 'Machine/settings.json'),
    /** Swaps the GPU the fake nvidia-smi replays, as if the machine changed under the running editor. */
    setScenario: (name) => fs.writeFileSync(scenarioFile, name),
    async screenshot(name) {
      fs.mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
    },
    extensionLog() {
      const logs = path.join(dirs.userData, 'logs');
      const found = fs
        .readdirSync(logs, { recursive: true })
        .find((f) => String(f).endsWith('GPU Dev Environments.log'));
      return found ? fs.readFileSync(path.join(logs, String(found)), 'utf8') : '';
    },
    async close() {
      await browser.close();
      await server.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export async function runFromPalette(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  // The command whose label is exactly the title: fuzzy matching may rank another one first.
  const row = page.locator('.quick-input-list .monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
  });
  await row.first().click();
}

/** After a failed test (call from afterEach): a screenshot named after it and the extension's last log lines. */
export async function reportFailure(test, bench, lines = 20) {
  if (test?.state !== 'failed' || !bench) return;
  await bench.screenshot(`FAILED-${test.title.replace(/\W+/g, '-').slice(0, 60)}`);
  console.log(bench.extensionLog().split('\n').slice(-lines).join('\n'));
}

/** Types into the open quick pick and accepts the first item showing `text`. */
export async function pick(page, text) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(text);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor();
  await page.keyboard.press('Enter');
}

/** Right-click on a tree row, then a menu item (VS Code menus ignore a click that lands as they open). */
export async function contextMenu(page, row, name) {
  await row.click({ button: 'right' });
  const item = page.getByRole('menuitem', { name });
  await item.hover();
  await page.waitForTimeout(300);
  await item.click();
}

/** Shows the GPU container (clicking its icon while it shows would close the side bar). */
export async function openGpuContainer(page) {
  if (await page.locator('.pane-header', { hasText: 'GPUs' }).first().isVisible()) return;
  await page
    .locator('.activitybar .action-item a[aria-label="GPU"], .activitybar .action-item .action-label[aria-label="GPU"]')
    .first()
    .click();
  await page.locator('.pane-header', { hasText: 'GPUs' }).first().waitFor();
}

/** A row of the GPUs view (or any tree) whose text includes `text`. */
export const treeRow = (page, text) => page.locator('.pane-body .monaco-list-row', { hasText: text });

/** Expands the collapsed tree row with `text`. */
export async function expandTreeRow(page, text) {
  const row = page.locator('.pane-body .monaco-list-row[aria-expanded="false"]', { hasText: text });
  await row.waitFor();
  await row.locator('.monaco-tl-twistie').click();
}

/** The content frame of the newest webview panel. */
export const webviewFrame = (page) =>
  page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
