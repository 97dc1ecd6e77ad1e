// Run on Reservation in the packaged extension: a real one-node Slurm (lab/infra/slurm.sh) whose login node
// is the loopback sshd; the workspace synced there, the command run inside the job, its output in a terminal.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, infra } from './labTools.mjs';
import { contextMenu, openGpuContainer, openWorkbench, reportFailure, treeRow } from './workbench.mjs';

describe('Run on Reservation (real Slurm behind a loopback sshd, packaged extension)', function () {
  let bench;
  let jobId;
  before(async () => {
    infra('slurm.sh');
    const sshd = infra('sshd.sh');
    const hostKey = fs
      .readFileSync(path.join(sshd.SSHD_DIR, 'host_key.pub'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
    // The login node is this machine: the CLI submits the holder job here.
    jobId = cli('reserve', 'submit', '--time', '15m').trim();
    bench = await openWorkbench({
      scenario: 'default-h100-x8-570.133.20',
      settings: {
        'gpuDev.monitor.intervalMs': 600000,
        // The DOM renderer: the terminal's text is in the page.
        'terminal.integrated.gpuAcceleration': 'off',
        'gpuDev.clusters': [
          { name: 'lab-slurm', scheduler: 'slurm', login: `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}` },
        ],
      },
      homeFiles: {
        '.ssh/id_ed25519': fs.readFileSync(path.join(sshd.SSHD_DIR, 'client_key')),
        '.ssh/gpudev/known_hosts': `[127.0.0.1]:${sshd.SSHD_PORT} ${hostKey}\n`,
      },
      workspaceFiles: {
        'hello.py': [
          'import os, sys',
          'print("\\x1b[32mhello\\x1b[0m from job", os.environ["SLURM_JOB_ID"], "in", os.getcwd(), flush=True)',
          'sys.exit(5)',
        ].join('\n'),
      },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 20);
  });
  after(async () => {
    await bench?.close();
    if (jobId) cli('reserve', 'cancel', jobId);
    // The synced copy in the login user's home (the login node is this machine).
    fs.rmSync(path.join(os.homedir(), 'gpudev/workspace'), { recursive: true, force: true });
  });

  it("Run on Reservation prints the remote output in a terminal, and the command's exit code", async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const row = treeRow(page, new RegExp(`^${jobId} · \\S+ left`));
    await row.waitFor({ timeout: 150_000 }); // the one shared cluster may be busy with other tests for a while
    await contextMenu(page, row, 'Run on Reservation…');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Run on Reservation' }).waitFor();
    await page.locator('.quick-input-widget input').fill('python3 hello.py');
    await page.keyboard.press('Enter');
    const terminal = page.locator('.terminal-wrapper.active .xterm-rows');
    await terminal.filter({ hasText: 'gpudev: exit code 5' }).waitFor({ timeout: 60_000 });
    // srun's own "task 0: Exited with exit code 5" comes on stderr, and may land inside the program's line.
    const text = (await terminal.innerText()).replace(/srun: error: [^\n]*exit code 5\n?/g, '');
    assert.ok(text.includes(`hello from job ${jobId} in `), text);
    assert.match(text, /gpudev: sent \d+ of \d+ files \(\d+ bytes\) to gpudev\/workspace/);
    assert.equal(
      (await terminal.locator('span.xterm-fg-2', { hasText: /^hello$/ }).count()) > 0,
      true,
      "the program's own colours reach the terminal",
    );
    await bench.screenshot('run-on-reservation-terminal');
  });

  it("a Python editor's title bar runs that file on the reservation", async () => {
    const { page } = bench;
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('hello.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'hello.py' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab.active', { hasText: 'hello.py' }).waitFor();
    await page.locator('.editor-actions .action-label[aria-label^="Run on Reservation"]').click();
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Run on Reservation' }).waitFor();
    assert.equal(await input.inputValue(), 'python3 hello.py', "the editor's file, proposed");
    await page.keyboard.press('Enter');
    const terminal = page.locator('.terminal-wrapper.active .xterm-rows');
    await terminal.filter({ hasText: /gpudev: sent 0 of \d+ files/ }).waitFor({ timeout: 60_000 });
    await terminal.filter({ hasText: 'gpudev: exit code 5' }).waitFor({ timeout: 30_000 });
    await bench.screenshot('run-on-reservation-editor-title');
  });
});
