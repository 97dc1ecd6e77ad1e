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

/** This test's gpudev jobs in the real queue (squeue on this machine: the login node is loopback). */
const queued = (name) =>
  execFileSync('squeue', ['-h', '-n', name, '-o', '%i %T %r'], { encoding: 'utf8' }).split('\n').filter(Boolean);

async function until(what, probe, limitMs = 30_000) {
  for (const started = Date.now(); Date.now() - started < limitMs; await new Promise((r) => setTimeout(r, 250))) {
    const value = await probe();
    if (value) return value;
  }
  throw new Error(`never saw ${what}`);
}

/** Fills the reservation panel's form and runs a Dry Run. */
async function dryRun(view, { types, count, time }) {
  await view.locator('#types').fill(types);
  await view.locator('#count').fill(String(count));
  await view.locator('#time').fill(time);
  await view.locator('button', { hasText: 'Dry Run' }).click();
}

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
        // The fastest pace allowed: jobs cancelled behind the extension's back (scancel) show within 10 s.
        'gpuDev.reservations.pollSeconds': 10,
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
      ['1 × 2 l4 (NVIDIA L4) gpu', '1 × 2 h100 (NVIDIA H100 80GB HBM3) gpu'],
    );
    await bench.screenshot('reserve-panel-dry-run');
    await rows.first().locator('button', { hasText: 'Submit' }).click();
    await view.locator('.status.ok', { hasText: /Submitted job \d+: 1 × 2 l4 in gpu/ }).waitFor({ timeout: 30_000 });
    assert.match(await view.locator('.summary').innerText(), /^Strategy 1 was submitted as job \d+\./);
    await treeRow(page, / left\s*gpu:l4:2 on \S+ · gpudev-l4x2/).waitFor({ timeout: 30_000 });
    // Its node joins the GPUs view as a host (through the login node to the node's sshd), its GPUs read there.
    await treeRow(page, /lab-slurm job \d+ \(\S+\)\s*8 GPUs/).waitFor({ timeout: 30_000 });
    await bench.screenshot('reserve-panel-submitted');
    await contextMenu(page, treeRow(page, /gpudev-l4x2/), 'Cancel Reservation');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Cancel Reservation' }).click();
    await treeRow(page, 'No gpudev reservations').waitFor({ timeout: 30_000 });
  });

  it("the panel's stale Submit is gone after a failed Dry Run", async () => {
    const { page } = bench;
    await runFromPalette(page, 'GPU: Reserve GPUs…');
    const view = webviewFrame(page);
    await dryRun(view, { types: 'l4', count: 1, time: '20m' });
    const rows = view.locator('table.strategies tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    assert.equal(await rows.count(), 1);
    assert.equal(await view.locator('button', { hasText: /^Race/ }).isVisible(), false, 'no race of one strategy');
    await dryRun(view, { types: 'l4', count: 1, time: '90 minutes' });
    await view.locator('.status.error', { hasText: '"90 minutes" is not a time' }).waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('table.strategies').count(), 0, 'the last table went with the new request');
    assert.equal(await view.locator('button', { hasText: 'Submit' }).count(), 0);
    await bench.screenshot('reserve-panel-failed-dry-run');
    await dryRun(view, { types: '', count: 5, time: '20m' });
    await view
      .locator('.status.error', {
        hasText:
          'No way to place 5 GPUs in gpu: they need 1 node × 5 or 5 nodes × 1, but a10, a100_80, l40s, rtx6000 and rtx6000ada have 1 per node on 1 node; a100, a100_1g.10gb and l4 have 2 per node on 1 node; h100 has 4 per node on 1 node',
      })
      .waitFor({ timeout: 30_000 });
    assert.deepEqual(queued('gpudev-l4x1'), [], 'nothing was submitted');
  });

  it('a double-click submits once', async () => {
    const { page } = bench;
    const view = webviewFrame(page);
    await dryRun(view, { types: 'h100', count: 3, time: '20m' });
    const rows = view.locator('table.strategies tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    await rows.first().locator('button', { hasText: 'Submit' }).dblclick();
    const done = view.locator('.status.ok', { hasText: /Submitted job \d+: 1 × 3 h100 in gpu/ });
    await done.waitFor({ timeout: 30_000 });
    const jobId = /Submitted job (\d+)/.exec(await done.innerText())[1];
    assert.equal(
      await view.locator('.summary').innerText(),
      `Strategy 1 was submitted as job ${jobId}. Dry Run again to reserve more.`,
    );
    assert.ok(await rows.first().locator('button', { hasText: 'Submit' }).isDisabled(), 'nothing left to submit');
    await until('the GPUs table read again (3 h100 in use)', async () =>
      /h100\s+4\s+3\s+1\s/.test(await view.locator('table.availability tr', { hasText: 'h100' }).innerText()),
    );
    await page.waitForTimeout(2000); // a second sbatch, had one been sent, would be queued by now
    assert.deepEqual(
      queued('gpudev-h100x3').map((line) => line.split(' ')[0]),
      [jobId],
      'one job in the queue',
    );
    await bench.screenshot('reserve-panel-submitted-once');
  });

  it('a pending reservation says why it waits, in words', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const view = webviewFrame(page);
    await dryRun(view, { types: 'h100', count: 3, time: '20m' });
    const rows = view.locator('table.strategies tbody tr');
    await rows.first().waitFor({ timeout: 30_000 });
    await rows.first().locator('button', { hasText: 'Submit' }).click();
    await view.locator('.status.ok', { hasText: /Submitted job \d+/ }).waitFor({ timeout: 30_000 });
    const pending = treeRow(page, / · pending.*waiting for resources \(the GPUs are in use\) · gpu:h100:3/);
    await pending.waitFor({ timeout: 30_000 });
    assert.doesNotMatch(await pending.innerText(), /None/);
    await bench.screenshot('reservation-pending-reason');
    for (const line of queued('gpudev-h100x3')) execFileSync('scancel', [line.split(' ')[0]]);
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
    await treeRow(page, / left\s*gpu:a100:2 on \S+ · gpudev-a100x2/).waitFor({ timeout: 30_000 });
    await bench.screenshot('reservation-running');
  });

  it('Copy SSH Command copies ssh -F <our file> gpudev-<cluster>-<job>, and that command answers with BatchMode', async () => {
    const { page } = bench;
    const jobId = /^(\d+) · /.exec(await treeRow(page, /gpudev-a100x2/).innerText())[1];
    await contextMenu(page, treeRow(page, /gpudev-a100x2/), 'Copy SSH Command');
    const toast = page.locator('.notifications-toasts', { hasText: /Copied: ssh -F / });
    await toast.waitFor({ timeout: 30_000 });
    const command = /Copied: (ssh -F \S+ \S+)/.exec(await toast.innerText())[1];
    assert.equal(command, `ssh -F ${path.join(bench.home, '.ssh/gpudev/config')} gpudev-lab-slurm-${jobId}`);
    const answer = execFileSync('sh', ['-c', `${command.replace(/^ssh /, 'ssh -o BatchMode=yes ')} echo answered`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(answer.trim(), 'answered', 'the copied command reaches the node with the pinned key, no prompt');
  });

  it("Show Job Script opens the job's script read-only, its id in the title", async () => {
    const { page } = bench;
    const jobId = /^(\d+) · /.exec(await treeRow(page, /gpudev-a100x2/).innerText())[1];
    await contextMenu(page, treeRow(page, /gpudev-a100x2/), 'Show Job Script');
    const tab = page.locator('.tabs-container .tab', { hasText: `job-${jobId}.sh` });
    await tab.waitFor({ timeout: 30_000 });
    const editor = page.locator('.editor-group-container.active .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: 'gpudev holder job' }).waitFor();
    await editor.locator('.view-lines').click();
    await page.keyboard.type('x');
    await page.locator('.monaco-editor-overlaymessage', { hasText: 'Cannot edit in read-only editor' }).waitFor();
    assert.equal(await tab.evaluate((t) => t.classList.contains('dirty')), false, 'nothing to save');
    await bench.screenshot('reservation-job-script');
  });

  it("Attach writes the ssh entry, asks once to Include it, and without Remote-SSH opens a terminal inside the job's allocation", async () => {
    const { page } = bench;
    const jobId = /^(\d+) · /.exec(await treeRow(page, /gpudev-a100x2/).innerText())[1];
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
    await page.waitForTimeout(4000); // ssh, the srun step, the login shell's prompt
    await page.keyboard.type(`echo "$(hostname) $SLURM_JOB_ID $GPUDEV_JOB" > ${marker}; exit\n`);
    for (let waited = 0; !fs.existsSync(marker) && waited < 20_000; waited += 250) await page.waitForTimeout(250);
    assert.equal(
      fs.readFileSync(marker, 'utf8').trim(),
      `${execFileSync('hostname', { encoding: 'utf8' }).trim()} ${jobId} ${jobId}`,
      "a shell on the reserved node, inside the job's allocation, its env file sourced",
    );
    await bench.screenshot('reservation-attached-terminal');
  });

  it('Cancel Reservation asks in a modal that names the job (one button to cancel, dismissing keeps it), cancels, and says how the job ended', async () => {
    const { page } = bench;
    const jobId = /^(\d+) · /.exec(await treeRow(page, /gpudev-a100x2/).innerText())[1];
    await contextMenu(page, treeRow(page, /gpudev-a100x2/), 'Cancel Reservation');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    assert.match(
      await dialog.innerText(),
      new RegExp(`Cancel reservation ${jobId} \\(gpudev-a100x2\\) on lab-slurm\\?`),
    );
    assert.deepEqual(
      (await dialog.locator('.monaco-button').allInnerTexts()).map((t) => t.trim()).sort(),
      ['Cancel Reservation', 'Keep Reservation'],
      'no bare "Cancel" beside "Cancel Reservation"',
    );
    await bench.screenshot('reservation-cancel-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.match(queued('gpudev-a100x2').join('\n'), new RegExp(`^${jobId} RUNNING`), 'dismissed: the job runs on');
    await contextMenu(page, treeRow(page, /gpudev-a100x2/), 'Cancel Reservation');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Cancel Reservation' }).click();
    await page
      .locator('.notifications-toasts', { hasText: /Reservation \d+ \(gpudev-a100x2\) on lab-slurm ended: CANCELLED/ })
      .waitFor({ timeout: 30_000 });
    await treeRow(page, 'No gpudev reservations').waitFor();
  });
});
