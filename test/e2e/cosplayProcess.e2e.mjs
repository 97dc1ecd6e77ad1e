// A cosplay without Docker from the extension, in the packaged extension: an SSH host "lab" (the
// loopback sshd) whose Docker socket does not exist. Cosplay as RTX 3090 on its GPU 2 → the plan says it
// applies as processes → Apply → Attach from the notification → a terminal through the session's Host
// entry (code-server has no Remote-SSH), where nvidia-smi -L shows the target → Stop.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { infra } from './labTools.mjs';
import {
  contextMenu,
  openGpuContainer,
  openWorkbench,
  pick,
  reportFailure,
  treeRow,
  webviewFrame,
} from './workbench.mjs';

describe('Apply as processes where the host has no usable Docker (loopback sshd, packaged extension)', function () {
  let bench;
  let name;
  const listed = path.join(os.tmpdir(), `gpudev-e2e-process-cosplay-${process.pid}.txt`);
  before(async () => {
    const sshd = infra('sshd.sh');
    const hostKey = fs
      .readFileSync(path.join(sshd.SSHD_DIR, 'host_key.pub'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
    const profile = path.join(os.tmpdir(), `gpudev-e2e-process-cosplay-${process.pid}.json`);
    // The session's shells get only what its env file says: the fake GPU's scenario comes from the test profile.
    const env = { GPUDEV_FAKE_SMI_SCENARIO: 'default-h100-x8-570.133.20' };
    fs.writeFileSync(profile, JSON.stringify({ image: 'unused', gpuRequest: false, binds: [], env }));
    bench = await openWorkbench({
      scenario: 'default-l4-580.126.20', // this machine: one GPU, so lab's GPU 2 is the only one
      settings: {
        'gpuDev.monitor.intervalMs': 600000,
        'terminal.integrated.gpuAcceleration': 'off',
        'gpuDev.hosts': [
          {
            name: 'lab',
            ssh: `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}`,
            dockerSocket: '/nonexistent/gpudev-e2e-docker.sock',
          },
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
    fs.rmSync(listed, { force: true });
  });

  it('the plan applies as processes; Attach opens a terminal in the session where nvidia-smi shows the target', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await treeRow(page, 'lab').filter({ hasText: '8 GPUs' }).waitFor({ timeout: 60_000 });
    await contextMenu(page, treeRow(page, 'GPU 2 · '), 'Cosplay as…');
    await pick(page, 'RTX 3090');
    const view = webviewFrame(page);
    await view
      .locator('.apply', { hasText: 'Applies on lab, GPU 2 as processes (Docker is not usable there)' })
      .waitFor({ timeout: 60_000 });
    await bench.screenshot('process-cosplay-plan');
    await view.locator('button', { hasText: 'Apply' }).click();
    const outcome = page.locator('.notification-toast', {
      hasText: /session gpudev-rtx3090-gpu2-\w+ is running on lab, GPU 2, as processes|Cosplay failed/,
    });
    await outcome.waitFor({ timeout: 90_000 });
    assert.doesNotMatch(await outcome.innerText(), /Cosplay failed/);
    assert.match(await outcome.innerText(), /not applied without root/);
    name = /session (gpudev-rtx3090-gpu2-\w+) is running/.exec(await outcome.innerText())?.[1];
    await outcome.locator('.monaco-button', { hasText: 'Attach' }).click();
    await page
      .locator('.notification-toast', {
        hasText: /instead of a VS Code window: the Remote-SSH extension is not installed/,
      })
      .waitFor({ timeout: 60_000 });
    await page.locator('.terminal-wrapper.active .xterm').click();
    await page.waitForTimeout(2000); // the session's shell starting through the host
    await page.keyboard.type(`nvidia-smi -L | tee ${listed}\n`);
    for (let waited = 0; !fs.existsSync(listed) && waited < 30_000; waited += 250) await page.waitForTimeout(250);
    await page.waitForTimeout(500);
    assert.match(fs.readFileSync(listed, 'utf8'), /^GPU 2: NVIDIA GeForce RTX 3090 \(UUID: GPU-/);
    await bench.screenshot('process-cosplay-terminal');
  });

  it('Stop ends the process session', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    assert.ok(name, 'the session was applied');
    // Running, so not an orphan some other test left on this machine.
    const row = treeRow(page, /GeForce RTX 3090.*cosplay/).filter({ hasNotText: /orphan|not restored/ });
    await contextMenu(page, row, 'Stop Cosplay Session');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Stop' }).click();
    await page
      .locator('.notifications-toasts', { hasText: new RegExp(`${name} stopped and lab restored`) })
      .waitFor({ timeout: 60_000 });
    await row.waitFor({ state: 'detached' });
  });
});
