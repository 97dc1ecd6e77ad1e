// Cosplay inside a running reservation, in the packaged extension: a real one-node Slurm whose login node
// is the loopback sshd. Cosplay as RTX 3090 on the job's row → the plan → Apply → a terminal through the
// session's Host entry (code-server has no Remote-SSH), where nvidia-smi -L shows the target; then Cosplay
// as… on a GPU of the job's node in the GPUs view plans that GPU inside the job.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, infra, NODE_SSHD } from './labTools.mjs';
import { contextMenu, expandTreeRow, openGpuContainer, openWorkbench, reportFailure, treeRow } from './workbench.mjs';

/** The GPU rows under the GPUs view's host row matching `host`, as {index in the list, text}. */
async function gpuRowsOf(page, host) {
  const rows = await page
    .locator('.pane-body .monaco-list-row')
    .evaluateAll((all) => all.map((r) => ({ level: Number(r.getAttribute('aria-level')), text: r.textContent ?? '' })));
  const at = rows.findIndex((r) => host.test(r.text));
  const end = rows.findIndex((r, i) => i > at && r.level <= rows[at].level);
  return rows
    .map((r, index) => ({ ...r, index }))
    .slice(at + 1, end === -1 ? undefined : end)
    .filter((r) => r.level === rows[at].level + 1 && /^GPU \d+ · /.test(r.text));
}

describe('Cosplay as… inside a reservation (real Slurm behind a loopback sshd, packaged extension)', function () {
  let bench;
  let jobId;
  const listed = path.join(os.tmpdir(), `gpudev-e2e-reservation-cosplay-${process.pid}.txt`);
  before(async () => {
    infra('slurm.sh');
    const sshd = infra('sshd.sh');
    infra('sshd.sh', { ...NODE_SSHD, GPUDEV_SSHD_AUTHORIZE: path.join(sshd.SSHD_DIR, 'client_key.pub') });
    const hostKey = fs
      .readFileSync(path.join(sshd.SSHD_DIR, 'host_key.pub'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
    jobId = cli('reserve', 'submit', '--time', '15m').trim();
    const profile = path.join(os.tmpdir(), `gpudev-e2e-reservation-cosplay-${process.pid}.json`);
    // The session's shells get only what its env file says: the fake GPU's scenario comes from the test profile.
    const env = { GPUDEV_FAKE_SMI_SCENARIO: 'default-h100-x8-570.133.20' };
    fs.writeFileSync(profile, JSON.stringify({ image: 'unused', gpuRequest: false, binds: [], env }));
    bench = await openWorkbench({
      scenario: 'default-h100-x8-570.133.20',
      settings: {
        'gpuDev.monitor.intervalMs': 600000,
        'terminal.integrated.gpuAcceleration': 'off',
        'gpuDev.clusters': [
          { name: 'lab-slurm', scheduler: 'slurm', login: `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}` },
        ],
      },
      env: { GPUDEV_TEST_HOST_PROFILE: profile },
      homeFiles: {
        '.ssh/id_ed25519': fs.readFileSync(path.join(sshd.SSHD_DIR, 'client_key')),
        '.ssh/gpudev/known_hosts': `[127.0.0.1]:${sshd.SSHD_PORT} ${hostKey}\n`,
      },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 40);
  });
  after(async () => {
    await bench?.close();
    infra('sshd.sh', NODE_SSHD, 'stop');
    if (jobId) cli('reserve', 'cancel', jobId);
    fs.rmSync(listed, { force: true });
    // The session ended with the job: its folders and journal entry (the login user's, this machine's) go.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    cli('cosplay', 'cleanup', '--yes');
  });

  it('Cosplay as RTX 3090 on a running reservation: plan, Apply, a terminal in the session where nvidia-smi shows the target', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const row = treeRow(page, new RegExp(`^${jobId} · \\S+ left`));
    await row.waitFor({ timeout: 150_000 }); // the one shared cluster may be busy with other tests for a while
    await contextMenu(page, row, 'Cosplay as… (inside the reservation)');
    await page.locator('.quick-input-widget input').fill('RTX 3090');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RTX 3090' }).first().waitFor();
    await page.keyboard.press('Enter');
    const dialog = page.locator('.monaco-dialog-box', { hasText: `inside job ${jobId}?` });
    await dialog.waitFor({ timeout: 60_000 });
    const detail = await dialog.innerText();
    assert.match(detail, /Cosplay NVIDIA GeForce RTX 3090 on NVIDIA H100 80GB HBM3/);
    assert.match(detail, /A process session: MPS/);
    assert.match(detail, /not applied: needs root — lock graphics clocks/);
    await bench.screenshot('reservation-cosplay-plan');
    await dialog.locator('.monaco-button', { hasText: /^Apply$/ }).click();
    await page
      .locator('.notification-toast', {
        hasText: /instead of a VS Code window: the Remote-SSH extension is not installed/,
      })
      .waitFor({ timeout: 150_000 });
    await page.locator('.terminal-wrapper.active .xterm').click();
    await page.waitForTimeout(2000); // the session's shell starting through the login node
    await page.keyboard.type(`nvidia-smi -L | tee ${listed}\n`);
    for (let waited = 0; !fs.existsSync(listed) && waited < 30_000; waited += 250) await page.waitForTimeout(250);
    await page.waitForTimeout(500);
    assert.match(fs.readFileSync(listed, 'utf8'), /^GPU \d+: NVIDIA GeForce RTX 3090 \(UUID: GPU-/);
    await bench.screenshot('reservation-cosplay-terminal');
  });

  it("Cosplay as… on a GPU of the reservation's node in the GPUs view plans that GPU inside the job", async () => {
    const { page } = bench;
    const host = new RegExp(`^lab-slurm job ${jobId} \\(`);
    await treeRow(page, host).waitFor({ timeout: 60_000 });
    if ((await treeRow(page, host).getAttribute('aria-expanded')) === 'false') await expandTreeRow(page, host);
    for (let waited = 0; !(await gpuRowsOf(page, host)).length && waited < 30_000; waited += 250)
      await page.waitForTimeout(250);
    // This cluster's gres.conf has no device files, so Slurm names no GPUs: any GPU of the node is the job's.
    const second = (await gpuRowsOf(page, host)).find((g) => g.text.startsWith('GPU 1 · '));
    assert.ok(second, 'GPU 1 of the node is listed');
    await contextMenu(page, page.locator('.pane-body .monaco-list-row').nth(second.index), 'Cosplay as…');
    await page.locator('.quick-input-widget input').fill('RTX 3090');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'RTX 3090' }).first().waitFor();
    await page.keyboard.press('Enter');
    const dialog = page.locator('.monaco-dialog-box', { hasText: `inside job ${jobId}?` });
    await dialog.waitFor({ timeout: 60_000 });
    assert.match(await dialog.innerText(), /\(GPU 1 of \S+\) inside job/, 'the GPU chosen in the tree, not the first');
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
  });
});
