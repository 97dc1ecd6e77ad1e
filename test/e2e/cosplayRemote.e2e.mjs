// A cosplay on an SSH host, in code-server with DEFAULT settings (VS Code's proxy support on, as users
// have it): the loopback sshd (its own, on a free port) is the host "lab", its Docker Engine the test
// one (lab/infra/dockerd.sh) through gpuDev.hosts "dockerSocket", forwarded over the host's SSH
// connection. Apply from the plan panel → the session under that GPU → Verify passes in the Test
// Explorer → Stop restores the fake GPU's recorded state. Everything is done through the UI.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, repoRoot } from '../../scripts/codeServer.mjs';
import { fakeGpuState, infra, readState, testDocker, writeHostProfile } from './cosplayHost.mjs';
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

const REMOTE_SCENARIO = 'default-h100-x8-570.133.20';
const SESSION_ROW = /GeForce RTX 3090.*cosplay/;

/** A bin folder for the host's sshd: the fake GPU's tools, keeping their state in `stateDir` (sshd drops our environment). */
function fakeGpuBin(dir, stateDir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of ['nvidia-smi', 'nvidia-cuda-mps-control']) {
    fs.writeFileSync(
      path.join(dir, tool),
      `#!/bin/sh\nexport GPUDEV_FAKE_GPU_STATE='${stateDir}'\nexec '${path.join(repoRoot, 'lab/fake-gpu/bin', tool)}' "$@"\n`,
      { mode: 0o755 },
    );
  }
}

/** The tree rows of the GPUs view, in order, with their depth. */
const gpuRows = (page) =>
  page
    .locator('.pane-body .monaco-list-row')
    .evaluateAll((rows) =>
      rows.map((r) => ({ level: Number(r.getAttribute('aria-level')), text: r.textContent ?? '' })),
    );

describe('Cosplay on an SSH host in code-server with default settings (Docker over the SSH connection)', function () {
  let bench;
  let tmp;
  let stateDir;
  let original;
  let sshdEnv;
  let docker;
  before(async () => {
    docker = testDocker();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-e2e-remote-'));
    stateDir = path.join(tmp, 'gpu-state');
    original = fakeGpuState(stateDir, REMOTE_SCENARIO);
    fakeGpuBin(path.join(tmp, 'bin'), stateDir);

    // Its own sshd (a fresh config: its PATH holds the state-keeping fake), beside the one other tests use.
    sshdEnv = {
      GPUDEV_SSHD_DIR: `${process.env.GPUDEV_SSHD_DIR ?? '/tmp/gpudev-sshd'}-cosplay-remote`,
      GPUDEV_SSHD_FAKE_BIN: path.join(tmp, 'bin'),
    };
    infra('sshd.sh', sshdEnv, ['stop']);
    sshdEnv.GPUDEV_SSHD_PORT = String(await freePort());
    const sshd = infra('sshd.sh', sshdEnv);
    fs.writeFileSync(path.join(sshd.SSHD_DIR, 'scenario'), REMOTE_SCENARIO);
    const hostKey = fs.readFileSync(path.join(sshd.SSHD_DIR, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');

    const profile = writeHostProfile(path.join(tmp, 'host-profile.json'), {
      image: docker.image,
      stateDir,
      scenario: REMOTE_SCENARIO,
    });
    bench = await openWorkbench({
      scenario: 'default-l4-580.126.20',
      // No "http.proxySupport" here: the default ("override") is what broke Docker over SSH.
      settings: {
        'gpuDev.monitor.intervalMs': 600000,
        'gpuDev.hosts': [
          { name: 'lab', ssh: `${sshd.SSHD_USER}@127.0.0.1:${sshd.SSHD_PORT}`, dockerSocket: docker.socket },
        ],
      },
      homeFiles: {
        '.ssh/id_ed25519': fs.readFileSync(path.join(sshd.SSHD_DIR, 'client_key')),
        '.ssh/gpudev/known_hosts': `[127.0.0.1]:${sshd.SSHD_PORT} ${hostKey}\n`,
      },
      env: { GPUDEV_TEST_HOST_PROFILE: profile },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 30);
  });
  after(async () => {
    await bench?.close();
    if (sshdEnv) infra('sshd.sh', sshdEnv, ['stop']);
    if (sshdEnv) fs.rmSync(sshdEnv.GPUDEV_SSHD_DIR, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("Apply in the plan panel on one of lab's GPUs starts a session there, shown under that GPU", async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await treeRow(page, 'lab').filter({ hasText: '8 GPUs' }).waitFor({ timeout: 60_000 });
    await contextMenu(page, treeRow(page, 'GPU 2 · '), 'Cosplay as…');
    await pick(page, 'RTX 3090');
    const view = webviewFrame(page);
    await view.locator('.apply', { hasText: 'Applies on lab, GPU 2' }).waitFor();
    await view
      .locator('.command-line code', { hasText: /^gpudev cosplay up rtx3090 --host \S+@127\.0\.0\.1:\d+ --gpu 2$/ })
      .waitFor();
    await view.locator('button', { hasText: 'Apply' }).click();
    const outcome = page.locator('.notifications-toasts', {
      hasText: /session gpudev-rtx3090-gpu2-\w+ is running on lab, GPU 2|Cosplay failed/,
    });
    await outcome.waitFor({ timeout: 90_000 });
    assert.doesNotMatch(await outcome.innerText(), /Cosplay failed/);
    await treeRow(page, SESSION_ROW).waitFor();
    const rows = await gpuRows(page);
    const at = rows.findIndex((r) => SESSION_ROW.test(r.text));
    const parent = rows
      .slice(0, at)
      .reverse()
      .find((r) => r.level === rows[at].level - 1);
    assert.match(parent?.text ?? '', /^GPU 2 · .*H100 80GB HBM3/, 'the session sits under GPU 2');
    const host = rows
      .slice(0, at)
      .reverse()
      .find((r) => r.level === rows[at].level - 2);
    assert.match(host?.text ?? '', /^lab/, '…of lab, not of this machine');
    assert.notDeepEqual(readState(stateDir), original, "lab's GPU settings changed");
    const containers = docker.run('ps', '-q', '--filter', 'label=gpudev.session').split('\n').filter(Boolean);
    assert.equal(containers.length, 1, "the container runs on lab's engine");
    await bench.screenshot('cosplay-remote-session-in-tree');
  });

  it('Verify passes: every check that ran is green in the Test Explorer', async () => {
    const { page } = bench;
    await contextMenu(page, treeRow(page, SESSION_ROW), 'Verify Cosplay Session');
    const summary = treeRow(page, /✓ \d+\/\d+|✗ \d+\/\d+/);
    await summary.waitFor({ timeout: 60_000 });
    assert.match(await summary.innerText(), /✓ (\d+)\/\1\b/);
    await runFromPalette(page, 'Testing: Focus on Test Explorer View');
    const root = page.locator('.test-explorer .monaco-list-row', { hasText: 'Cosplay: gpudev-rtx3090-gpu2-' });
    await root.waitFor();
    if ((await root.getAttribute('aria-expanded')) === 'false') await root.locator('.monaco-tl-twistie').click();
    const check = page.locator('.test-explorer .monaco-list-row', { hasText: 'nvidia-smi -L shows the target name' });
    await check.waitFor();
    await check.locator('.codicon-testing-passed-icon').waitFor();
    assert.equal(
      await page
        .locator('.test-explorer .codicon-testing-failed-icon, .test-explorer .codicon-testing-error-icon')
        .count(),
      0,
    );
    await bench.screenshot('cosplay-remote-verify');
  });

  it("Stop removes the container and restores lab's GPU to its recorded state", async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await contextMenu(page, treeRow(page, SESSION_ROW), 'Stop Cosplay Session');
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Stop' }).click();
    await page.locator('.notifications-toasts', { hasText: /stopped and lab restored/ }).waitFor({ timeout: 60_000 });
    await treeRow(page, SESSION_ROW).waitFor({ state: 'detached' });
    assert.deepEqual(readState(stateDir), original);
    assert.equal(docker.run('ps', '-aq', '--filter', 'label=gpudev.session'), '');
  });

  it("the gauge, after picking lab's GPU 5, says which GPU of which host it shows", async () => {
    const { page } = bench;
    await page.locator('.statusbar-item', { hasText: 'GiB' }).click();
    const picker = page.locator('.quick-input-widget');
    await picker.locator('.quick-input-list-row', { hasText: '5: H100 80GB HBM3' }).click();
    const item = page.locator('.statusbar-item', { hasText: 'GPU 5 · lab' });
    await item.waitFor({ timeout: 30_000 });
    assert.match((await item.innerText()).trim(), /^\d+\.\d\/79\.6 GiB · GPU 5 · lab$/);
    await bench.screenshot('gauge-remote-gpu5');
  });
});
