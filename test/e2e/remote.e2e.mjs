import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';
import {
  contextMenu,
  expandTreeRow,
  openGpuContainer,
  openWorkbench,
  reportFailure,
  runFromPalette,
  treeRow,
  webviewFrame,
} from './workbench.mjs';

describe('An SSH host in the GPUs view (a real sshd on loopback)', function () {
  let bench;
  let sshd;
  before(async () => {
    const out = execFileSync('bash', [path.join(repoRoot, 'lab/infra/sshd.sh')], { encoding: 'utf8' });
    sshd = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.split('=', 2)),
    );
    bench = await openWorkbench({
      scenario: 'default-l4-580.126.20',
      settings: {
        'gpuDev.monitor.intervalMs': 600000,
        'gpuDev.hosts': [{ name: 'lab', ssh: `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}` }],
      },
      homeFiles: { '.ssh/id_ed25519': fs.readFileSync(path.join(sshd.SSHD_DIR, 'client_key')) },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, Infinity);
  });
  after(async () => {
    await bench?.close();
    execFileSync('bash', [path.join(repoRoot, 'lab/infra/sshd.sh'), 'stop']);
  });

  it('asks before trusting an unknown host key, then lists the host and its GPUs', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /Unknown SSH host key for "lab"[\s\S]*ssh-ed25519 SHA256:/);
    await bench.screenshot('ssh-host-key-prompt');
    await dialog.locator('.monaco-button', { hasText: 'Trust' }).click();
    await treeRow(page, 'lab').filter({ hasText: '8 GPUs' }).waitFor();
    await treeRow(page, 'GPU 7 · ').filter({ hasText: 'H100 80GB HBM3' }).waitFor();
    await treeRow(page, 'GPU 0 · ').filter({ hasText: 'L4' }).waitFor();
    const trusted = fs.readFileSync(path.join(bench.home, '.ssh/gpudev/known_hosts'), 'utf8');
    assert.equal(
      trusted,
      `[127.0.0.1]:${sshd.SSHD_PORT} ${fs.readFileSync(path.join(sshd.SSHD_DIR, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
    );
    await bench.screenshot('ssh-host-gpus');
  });

  it("a remote GPU's details come from that host", async () => {
    const { page } = bench;
    await treeRow(page, 'GPU 0 · ').filter({ hasText: 'H100 80GB HBM3' }).click();
    const preview = webviewFrame(page);
    await preview.locator('h1', { hasText: 'GPU 0: NVIDIA H100 80GB HBM3 on lab' }).waitFor();
    await preview.locator('pre', { hasText: 'Product Name' }).waitFor();
  });

  it("lists a remote GPU's compute processes under it", async () => {
    const { page } = bench;
    await expandTreeRow(page, /GPU 0 · .*H100 80GB HBM3/);
    await treeRow(page, 'pid 2085037').waitFor();
    await bench.screenshot('ssh-host-processes');
  });

  /** GPU: Add SSH Host…, with `spec` typed straight into its first picker. */
  async function addHostByTyping(page, spec) {
    await runFromPalette(page, 'GPU: Add SSH Host…');
    await page.locator('.quick-input-widget input').fill(spec);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'add this host' }).waitFor();
    await page.keyboard.press('Enter');
  }
  const userHosts = () => JSON.parse(fs.readFileSync(bench.remoteSettingsFile, 'utf8'))['gpuDev.hosts'];

  it('Add SSH Host takes what is typed in its first picker, knows the host already there, and tells hosts apart by port', async () => {
    const { page } = bench;
    await addHostByTyping(page, `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}`);
    await page.locator('.notifications-toasts', { hasText: 'is already in gpuDev.hosts as "lab"' }).waitFor();
    // Port 1: nothing listens there. A typo or a closed port is said before anything is saved.
    await addHostByTyping(page, `${sshd.SSHD_USER}@127.0.0.1:1`);
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'could not be reached' });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /ECONNREFUSED 127\.0\.0\.1:1/);
    await bench.screenshot('add-ssh-host-unreachable');
    await dialog.locator('.monaco-button', { hasText: 'Save Anyway' }).click();
    await treeRow(page, `${sshd.SSHD_USER}@127.0.0.1:1`).first().waitFor();
    assert.deepEqual(
      userHosts().map((h) => h.name),
      ['lab', `${sshd.SSHD_USER}@127.0.0.1:1`],
    );
  });

  it("Remove SSH Host on a host's context menu takes it out of gpuDev.hosts, after asking", async () => {
    const { page } = bench;
    const name = `${sshd.SSHD_USER}@127.0.0.1:1`;
    // Once the host has answered (here: not at all): its row is made again then, which would close a menu.
    await treeRow(page, `Cannot reach ${name}`).waitFor({ timeout: 30_000 });
    const dialog = page.locator('.monaco-dialog-box', { hasText: `Remove "${name}" from gpuDev.hosts?` });
    // A retry of the host (every few seconds while it is unreachable) remakes its row and closes a menu.
    for (let tries = 0; tries < 3 && !(await dialog.isVisible()); tries++) {
      await contextMenu(page, treeRow(page, name).first(), 'Remove SSH Host').catch(() => undefined);
      await dialog.waitFor({ timeout: 5_000 }).catch(() => undefined);
    }
    await dialog.locator('.monaco-button', { hasText: 'Remove' }).click();
    await treeRow(page, name).first().waitFor({ state: 'detached' });
    assert.deepEqual(
      userHosts().map((h) => h.name),
      ['lab'],
    );
    await treeRow(page, 'lab').filter({ hasText: '8 GPUs' }).waitFor();
  });
});
