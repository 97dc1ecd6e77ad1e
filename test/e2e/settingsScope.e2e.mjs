// Settings a cloned repository must not set: a trusted folder whose .vscode/settings.json sets
// gpuDev.cosplay.sudo and gpuDev.hosts has both ignored (a notice says so, once, and where to set
// them), and "GPU: Add SSH Host…" appends to the user's own list only.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fakeGpuState, readState, testDocker, writeHostProfile } from './cosplayHost.mjs';
import {
  contextMenu,
  openGpuContainer,
  openWorkbench,
  pick,
  reportFailure,
  runFromPalette,
  treeRow,
} from './workbench.mjs';

const SCENARIO = 'default-h100-x8-570.133.20';
const USER_HOST = { name: 'mine', ssh: 'nobody@127.0.0.1:9' };
const WORKSPACE_SETTINGS = `{
  // what a cloned repository might carry
  "gpuDev.cosplay.sudo": true,
  "gpuDev.hosts": [{ "name": "from-repo", "ssh": "evil@127.0.0.1:9" }],
}
`;
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('Settings a cloned repository must not set (a trusted folder with .vscode/settings.json)', function () {
  let bench;
  let tmp;
  let stateDir;
  let original;
  before(async () => {
    const docker = testDocker();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-e2e-settings-'));
    stateDir = path.join(tmp, 'gpu-state');
    original = fakeGpuState(stateDir, SCENARIO);
    const profile = writeHostProfile(path.join(tmp, 'host-profile.json'), {
      image: docker.image,
      stateDir,
      scenario: SCENARIO,
    });
    bench = await openWorkbench({
      scenario: SCENARIO,
      settings: { 'gpuDev.monitor.intervalMs': 600000, 'gpuDev.hosts': [USER_HOST] },
      workspaceFiles: { '.vscode/settings.json': WORKSPACE_SETTINGS },
      env: {
        DOCKER_HOST: `unix://${docker.socket}`,
        GPUDEV_TEST_HOST_PROFILE: profile,
        GPUDEV_FAKE_GPU_STATE: stateDir,
      },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 25);
  });
  after(async () => {
    await bench?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the workspace values are ignored with a notice naming them, whose button opens the Remote settings (code-server is a Remote window)', async () => {
    const { page } = bench;
    const notice = page.locator('.notifications-toasts .notification-toast', {
      hasText: 'Ignored: this workspace sets gpuDev.cosplay.sudo, gpuDev.hosts',
    });
    await notice.waitFor({ timeout: 30_000 });
    assert.match(await notice.innerText(), /read only from your Remote settings, never from a workspace/);
    await bench.screenshot('settings-scope-notice');
    await openGpuContainer(page);
    await treeRow(page, 'mine').first().waitFor();
    assert.equal(await treeRow(page, 'from-repo').count(), 0, "the workspace's host is not shown");
    await notice.locator('.monaco-button', { hasText: 'Open Remote Settings' }).click();
    const editor = page.locator('.settings-editor');
    await editor.waitFor();
    await editor.locator('.setting-item-contents', { hasText: 'Sudo' }).first().waitFor();
    assert.match(await editor.locator('.settings-tabs-widget [role=tab][aria-selected=true]').innerText(), /^Remote/);
    await bench.screenshot('settings-scope-user-settings');
    await page.keyboard.press('Escape');
    await editor.waitFor({ state: 'detached' });
  });

  it('once per setting per window: saving the file with one more such setting names only that one', async () => {
    const { page } = bench;
    const file = path.join(bench.workspace, '.vscode/settings.json');
    fs.writeFileSync(file, WORKSPACE_SETTINGS.replace('{\n', '{\n  "gpuDev.clusters": [],\n'));
    await page.keyboard.press('Control+P');
    await pick(page, 'settings.json');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' ');
    await page.keyboard.press('Control+S');
    const notice = page.locator('.notifications-toasts .notification-toast', {
      hasText: 'Ignored: this workspace sets gpuDev.clusters.',
    });
    await notice.waitFor({ timeout: 30_000 });
    assert.equal(
      await page.locator('.notifications-toasts .notification-toast', { hasText: 'gpuDev.cosplay.sudo' }).count(),
      0,
      'not told twice',
    );
    await runFromPalette(page, 'View: Close All Editors');
  });

  it("cosplay.sudo: true from the workspace is not used: an apply runs without sudo (with sudo the fake nvidia-smi is off sudo's PATH)", async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await contextMenu(page, treeRow(page, 'GPU 2 · '), 'Apply Cosplay…');
    await pick(page, 'RTX 3090');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Apply$/ }).click();
    const outcome = page.locator('.notifications-toasts', {
      hasText: /session gpudev-rtx3090-gpu2-\w+ is running on This machine|Cosplay failed/,
    });
    await outcome.waitFor({ timeout: 90_000 });
    assert.doesNotMatch(await outcome.innerText(), /Cosplay failed/);
    const session = treeRow(page, /GeForce RTX 3090.*cosplay/);
    await session.waitFor();
    await contextMenu(page, session, 'Stop Cosplay Session');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Stop' }).click();
    await page
      .locator('.notifications-toasts', { hasText: 'stopped and This machine restored' })
      .waitFor({ timeout: 60_000 });
    await session.waitFor({ state: 'detached' });
    assert.deepEqual(readState(stateDir), original);
  });

  it("GPU: Add SSH Host… appends to the user's own list (into the Remote settings here), never writing the workspace's entries into it", async () => {
    const { page } = bench;
    const workspaceFile = path.join(bench.workspace, '.vscode/settings.json');
    const workspaceBefore = fs.readFileSync(workspaceFile, 'utf8');
    const remoteHosts = () =>
      fs.existsSync(bench.remoteSettingsFile) ? readJson(bench.remoteSettingsFile)['gpuDev.hosts'] : undefined;
    assert.equal(remoteHosts(), undefined);
    await runFromPalette(page, 'GPU: Add SSH Host…');
    await page.locator('.quick-input-widget input').fill('alice@127.0.0.1:2299');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'add this host' }).waitFor();
    await page.keyboard.press('Enter');
    const unreachable = page.locator('.monaco-dialog-box', { hasText: 'could not be reached' });
    await unreachable.locator('.monaco-button', { hasText: 'Save Anyway' }).click();
    for (let waited = 0; !remoteHosts() && waited < 20_000; waited += 250) await page.waitForTimeout(250);
    assert.deepEqual(remoteHosts(), [USER_HOST, { name: 'alice@127.0.0.1:2299', ssh: 'alice@127.0.0.1:2299' }]);
    assert.deepEqual(readJson(bench.userSettingsFile)['gpuDev.hosts'], [USER_HOST], 'the User file as it was');
    assert.equal(fs.readFileSync(workspaceFile, 'utf8'), workspaceBefore, 'the workspace file is untouched');
    await treeRow(page, 'alice@127.0.0.1').first().waitFor();
    assert.equal(await treeRow(page, 'from-repo').count(), 0);
  });

  it('the same apply with cosplay.sudo: true in the Remote settings does use sudo (and fails here, rolled back)', async () => {
    const { page } = bench;
    fs.writeFileSync(
      bench.remoteSettingsFile,
      JSON.stringify({ ...readJson(bench.remoteSettingsFile), 'gpuDev.cosplay.sudo': true }, null, 2),
    );
    await page.waitForTimeout(2000); // the server picks up the edited file
    await runFromPalette(page, 'Notifications: Clear All Notifications');
    await openGpuContainer(page);
    await contextMenu(page, treeRow(page, 'GPU 2 · '), 'Apply Cosplay…');
    await pick(page, 'RTX 3090');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Apply$/ }).click();
    const outcome = page.locator('.notifications-toasts', { hasText: /is running on This machine|Cosplay failed/ });
    await outcome.waitFor({ timeout: 60_000 });
    assert.match(await outcome.innerText(), /Cosplay failed at "[^"]+": .*(sudo|nvidia-smi).*the host is as it was/s);
    assert.deepEqual(readState(stateDir), original);
  });
});
