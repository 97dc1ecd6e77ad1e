// Reservations against a real one-node Slurm (lab/infra/slurm.sh) whose login node is the loopback sshd.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';
import {
  contextMenu,
  openGpuContainer,
  openWorkbench,
  pick,
  reportFailure,
  runFromPalette,
  treeRow,
  webviewFrame,
} from './workbench.mjs';

const infra = (script, env = {}) =>
  Object.fromEntries(
    execFileSync('bash', [path.join(repoRoot, 'lab/infra', script)], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    })
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2)),
  );
/** The compute node's sshd: port 22 of the node's address, accepting the user's key as a shared home would. */
const NODE_SSHD = { GPUDEV_SSHD_DIR: '/tmp/gpudev-node-sshd', GPUDEV_SSHD_PORT: '22' };

/** Answers the input box titled `title` (each step of a flow replaces the last in the same widget). */
async function answer(page, title, text) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor();
  await page.locator('.quick-input-widget input').fill(text);
  await page.keyboard.press('Enter');
}

describe('Reservations on Slurm (real slurmctld behind a loopback sshd)', function () {
  let bench;
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
    for (const id of execFileSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean))
      execFileSync('scancel', [id]);
    bench = await openWorkbench({
      scenario: 'default-h100-x8-570.133.20',
      settings: {
        'gpuDev.monitor.intervalMs': 600000,
        'gpuDev.clusters': [
          { name: 'lab-slurm', scheduler: 'slurm', login: `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}` },
        ],
      },
      homeFiles: {
        '.ssh/id_ed25519': fs.readFileSync(path.join(sshd.SSHD_DIR, 'client_key')),
        '.ssh/gpudev/known_hosts': `[127.0.0.1]:${sshd.SSHD_PORT} ${hostKey}\n`,
      },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 20);
  });
  after(async () => {
    await bench?.close();
    execFileSync('bash', [path.join(repoRoot, 'lab/infra/sshd.sh'), 'stop'], {
      env: { ...process.env, ...NODE_SSHD },
    });
  });

  it("the reservation panel: the form, the cluster's GPUs, a dry run's strategy table, Submit → RUNNING in the view", async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await treeRow(page, 'No gpudev reservations').waitFor({ timeout: 30_000 });
    await runFromPalette(page, 'GPU: Reserve GPUs…');
    const view = webviewFrame(page);
    await view.locator('table.availability tr', { hasText: 'h100' }).waitFor({ timeout: 30_000 });
    assert.match(
      await view.locator('table.availability tr', { hasText: 'h100' }).innerText(),
      /h100\s+4\s+0\s+4\s+4\s+1\s+idle 1/,
    );
    await view.locator('#types').fill('l4, h100');
    await view.locator('#count').fill('2');
    await view.locator('#time').fill('20m');
    await view.locator('button', { hasText: 'Dry Run' }).click();
    const rows = view.locator('table.strategies tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    assert.deepEqual(
      (await rows.allInnerTexts()).map((t) => t.split('\t').slice(1, 3).join(' ')),
      ['1 × 2 l4 gpu', '1 × 2 h100 gpu'],
    );
    await bench.screenshot('reserve-panel-dry-run');
    await rows.first().locator('button', { hasText: 'Submit' }).click();
    await view.locator('.status.ok', { hasText: /Submitted job \d+: 1 × 2 l4 in gpu/ }).waitFor({ timeout: 30_000 });
    await treeRow(page, /gpudev-l4x2.*RUNNING · gpu:l4:2/).waitFor({ timeout: 30_000 });
    await bench.screenshot('reserve-panel-submitted');
    await contextMenu(page, treeRow(page, /gpudev-l4x2/), 'Cancel Reservation');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Cancel Reservation' }).click();
    await treeRow(page, 'No gpudev reservations').waitFor({ timeout: 30_000 });
  });

  it('"GPU: Quick Reserve GPUs…" probes the strategies, submits the one picked, and the view shows it RUNNING', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await treeRow(page, 'lab-slurm').waitFor();
    await runFromPalette(page, 'GPU: Quick Reserve GPUs…');
    await answer(page, '(1/3)', 'A100, h100');
    await answer(page, '(2/3)', '2');
    await answer(page, '(3/3)', '45m');
    const strategies = page.locator('.quick-input-list .monaco-list-row');
    await strategies.first().waitFor({ timeout: 30_000 });
    const labels = (await strategies.locator('.label-name').allInnerTexts())
      .map((text) => text.trim())
      .filter((text) => /^\d+ × |Race/.test(text));
    assert.deepEqual(
      labels,
      ['Race the top 2', '1 × 2 a100', '1 × 2 h100'],
      'a race, then ranked, then in the order asked',
    );
    assert.match(await strategies.nth(1).innerText(), /gpu · starts now on \S+/);
    await bench.screenshot('reserve-strategies');
    await pick(page, '1 × 2 a100');
    await page
      .locator('.notifications-toasts', { hasText: /Submitted reservation \d+ on lab-slurm: 1 × 2 a100/ })
      .waitFor({ timeout: 30_000 });
    await treeRow(page, /gpudev-a100x2.*RUNNING · gpu:a100:2/).waitFor({ timeout: 30_000 });
    await bench.screenshot('reservation-running');
  });

  it('Attach writes the ssh entry, asks once to Include it, and without Remote-SSH opens ssh in a terminal on the node', async () => {
    const { page } = bench;
    const marker = '/tmp/gpudev-e2e-attached';
    fs.rmSync(marker, { force: true });
    await contextMenu(page, treeRow(page, /gpudev-a100x2/), 'Attach');
    const consent = page.locator('.monaco-dialog-box', {
      hasText: 'Let Remote-SSH and ssh find reserved nodes by name?',
    });
    await consent.waitFor({ timeout: 30_000 });
    await consent.locator('.monaco-button', { hasText: 'Add Include' }).click();
    await page
      .locator('.notifications-toasts', { hasText: 'instead of a window: the Remote-SSH extension is not installed' })
      .waitFor({ timeout: 30_000 });
    assert.match(
      fs.readFileSync(path.join(bench.home, '.ssh/config'), 'utf8'),
      /# >>> gpudev[^\n]*\nInclude \S+\/\.ssh\/gpudev\/config\n/,
    );
    assert.match(
      fs.readFileSync(path.join(bench.home, '.ssh/gpudev/config'), 'utf8'),
      /Host gpudev-lab-slurm-\d+\n {2}HostName \S+\n {2}ProxyJump gpudev-lab-slurm-login/,
    );
    await page.locator('.terminal-wrapper.active .xterm').click();
    await page.waitForTimeout(1500); // the ssh session's prompt
    await page.keyboard.type(`hostname > ${marker}; exit\n`);
    for (let waited = 0; !fs.existsSync(marker) && waited < 20_000; waited += 250) await page.waitForTimeout(250);
    assert.equal(
      fs.readFileSync(marker, 'utf8').trim(),
      execFileSync('hostname', { encoding: 'utf8' }).trim(),
      'a shell on the reserved node',
    );
    await bench.screenshot('reservation-attached-terminal');
  });

  it('Cancel Reservation asks, cancels, and says how the job ended', async () => {
    const { page } = bench;
    await contextMenu(page, treeRow(page, /gpudev-a100x2/), 'Cancel Reservation');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Cancel Reservation' }).click();
    await page
      .locator('.notifications-toasts', { hasText: /Reservation \d+ \(gpudev-a100x2\) on lab-slurm ended: CANCELLED/ })
      .waitFor({ timeout: 30_000 });
    await treeRow(page, 'No gpudev reservations').waitFor();
  });
});
