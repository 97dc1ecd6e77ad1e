// Apply a cosplay from the plan webview against a real Docker Engine (lab/infra/dockerd.sh), with the
// test host profile (no NVIDIA runtime here: no DeviceRequest; the host's /usr in a local image, the fake
// nvidia-smi and fake torch inside), then verify into the Test Explorer, benchmark, stop.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openLocalCosplay, readState } from './cosplayHost.mjs';
import {
  contextMenu,
  openGpuContainer,
  pick,
  reportFailure,
  runFromPalette,
  treeRow,
  webviewFrame,
} from './workbench.mjs';

const SCENARIO = 'default-h100-x8-570.133.20';

describe('Cosplay sessions in code-server (real Docker Engine)', function () {
  let bench;
  let stateDir;
  let original;
  let dockerEnv;
  let remove;
  before(async () => {
    ({ bench, stateDir, original, dockerEnv, remove } = await openLocalCosplay(SCENARIO));
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 25);
  });
  after(async () => {
    await bench?.close();
    remove?.();
  });

  it('Apply in the plan webview starts a session, shown under its GPU', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await contextMenu(page, treeRow(page, 'GPU 2 · '), 'Cosplay as…');
    await pick(page, 'RTX 3090');
    const view = webviewFrame(page);
    await view.locator('.apply', { hasText: 'Applies on This machine, GPU 2' }).waitFor();
    await bench.screenshot('cosplay-plan-apply');
    await view.locator('button', { hasText: 'Apply' }).click();
    await page
      .locator('.notifications-toasts', {
        hasText: /session gpudev-rtx3090-gpu2-\w+ is running on This machine, GPU 2/,
      })
      .waitFor({ timeout: 60_000 });
    await view.locator('button', { hasText: 'Applied' }).waitFor();
    await treeRow(page, /GeForce RTX 3090.*cosplay/).waitFor();
    assert.notDeepEqual(readState(stateDir), original, 'the host settings changed');
    assert.match(
      await page.locator('.statusbar-item', { hasText: 'GiB' }).first().innerText(),
      /\/24\.0 GiB · GeForce RTX 3090/,
      'the gauge measures against the target',
    );
    await bench.screenshot('cosplay-session-in-tree');
  });

  it('Verify shows every check in the Test Explorer, and the summary in the tree', async () => {
    const { page } = bench;
    await contextMenu(page, treeRow(page, /GeForce RTX 3090.*cosplay/), 'Verify Cosplay Session');
    await treeRow(page, /✓ \d+\/\d+/).waitFor({ timeout: 60_000 });
    await runFromPalette(page, 'Testing: Focus on Test Explorer View');
    const root = page.locator('.test-explorer .monaco-list-row', { hasText: 'Cosplay: gpudev-rtx3090-gpu2-' });
    await root.waitFor();
    if ((await root.getAttribute('aria-expanded')) === 'false') await root.locator('.monaco-tl-twistie').click();
    await page.locator('.test-explorer .monaco-list-row', { hasText: 'nvidia-smi -L shows the target name' }).waitFor();
    await bench.screenshot('cosplay-verify-test-explorer');
  });

  it('Open Terminal in Session: a shell in the container, where nvidia-smi shows the target', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await contextMenu(page, treeRow(page, /GeForce RTX 3090.*cosplay/), 'Open Terminal in Session');
    await page
      .locator('.terminal-tab, .tabs-container .monaco-list-row, .single-terminal-tab', {
        hasText: /Cosplay: gpudev-rtx3090-gpu2-/,
      })
      .first()
      .waitFor();
    await page.locator('.terminal-wrapper.active .xterm').click();
    // The terminal draws on a canvas: the output is checked through the workspace, mounted in the container.
    await page.keyboard.type('nvidia-smi -L | tee from-the-session.txt\n');
    const written = path.join(bench.workspace, 'from-the-session.txt');
    for (let waited = 0; !fs.existsSync(written) && waited < 20_000; waited += 250) await page.waitForTimeout(250);
    await page.waitForTimeout(500);
    // The session is a MIG slice of GPU 2: the shim lists each slice as GPU 0, 1, … with its MIG- UUID (docs/shim.md).
    assert.match(fs.readFileSync(written, 'utf8'), /^GPU 0: NVIDIA GeForce RTX 3090 \(UUID: MIG-[^)]+\)\n$/);
    await bench.screenshot('cosplay-session-terminal');
  });

  it('Attach VS Code without Dev Containers opens a terminal and says why', async () => {
    const { page } = bench;
    await contextMenu(page, treeRow(page, /GeForce RTX 3090.*cosplay/), 'Attach VS Code to Session');
    await page
      .locator('.notifications-toasts', {
        hasText: 'instead of a VS Code window: the Dev Containers extension is not installed',
      })
      .waitFor();
  });

  it('Benchmark saves a report and opens the fidelity webview with its chart; a second run has history', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const reports = path.join(bench.workspace, '.gpudev/reports');
    const saved = () => (fs.existsSync(reports) ? fs.readdirSync(reports).length : 0);
    for (let run = 1; run <= 2; run++) {
      await contextMenu(page, treeRow(page, /GeForce RTX 3090.*cosplay/), 'Benchmark Cosplay Session');
      for (let waited = 0; saved() < run && waited < 60_000; waited += 250) await page.waitForTimeout(250);
      await page.locator('.tab', { hasText: 'Fidelity: NVIDIA GeForce RTX 3090 on This machine' }).waitFor();
      if (run === 1) await page.waitForTimeout(1100); // report names carry the second they were made
    }
    const view = webviewFrame(page);
    await view.locator('svg.chart rect.bar.measured').first().waitFor();
    await view.locator('table.history tbody tr').first().waitFor();
    assert.match(
      await view
        .locator('table.fidelity tbody tr')
        .filter({ has: view.locator('td:first-child', { hasText: /^FP32$/ }) })
        .innerText(),
      /FP32\s+35\.6 TFLOPS\s+—\s+32\.4 TFLOPS\s+50\.0 TFLOPS\s+140%\s+—\s+.*no achievable rate to compare with: the host measured 154% of its modelled peak un-throttled/,
      "the stand-in's torch runs a MIG slice at a whole H100's rates: the datasheet stands",
    );
    await view.locator('p.versions', { hasText: /torch 0\.0-fake · CUDA 12\.4 · driver \d+\.\d+/ }).waitFor();
    assert.equal(saved(), 2);
    await bench.screenshot('cosplay-fidelity-report');
  });

  it('FP32 off by more than 10% → Calibrate bisects the clock lock and records it', async () => {
    const { page } = bench;
    await page.locator('.notifications-toasts .monaco-button', { hasText: 'Calibrate' }).last().click();
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Calibrate' }).click();
    const done = page.locator('.notifications-toasts', {
      hasText:
        /clocks locked at \d+ MHz give 3[45]\.\d TFLOPS FP32 after \d runs \(aim 35\.6 TFLOPS, aimed at the datasheet: the host measured \d+% of its modelled peak/,
    });
    await done.waitFor({ timeout: 90_000 });
    await bench.screenshot('cosplay-calibrated');
    await treeRow(page, /GeForce RTX 3090.*cosplay/).waitFor();
  });

  it('Stop whose restore fails shows "host not restored" with Retry; Retry restores the host', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const failFile = path.join(stateDir, 'fail');
    fs.writeFileSync(failFile, '-rgc'); // the fake GPU refuses to reset its clocks, once
    await contextMenu(page, treeRow(page, /GeForce RTX 3090.*cosplay/), 'Stop Cosplay Session');
    const dialog = page.locator('.monaco-dialog-box', { hasText: /Stop cosplay session gpudev-rtx3090-gpu2-/ });
    assert.match(
      await dialog.innerText(),
      /restored from its journal, in this order: 4g\.40gb GPU instance \d+ at slice 0 destroyed; graphics clocks reset; power limit back to 700 W; MIG mode back off; persistence mode back (on|off)\./,
    );
    await dialog.locator('.monaco-button', { hasText: 'Stop' }).click();
    const failed = page.locator('.notifications-toasts', {
      hasText: /stopped — host not restored: graphics clocks reset: nvidia-smi -i GPU-[0-9a-f-]+ -rgc failed/,
    });
    await failed.waitFor({ timeout: 60_000 });
    await treeRow(page, /GeForce RTX 3090.*cosplay · stopped — host not restored/).waitFor();
    await bench.screenshot('cosplay-host-not-restored');
    fs.rmSync(failFile);
    await failed.locator('.monaco-button', { hasText: 'Retry' }).click();
    await page
      .locator('.notifications-toasts', { hasText: /stopped and This machine restored: .*graphics clocks reset/ })
      .waitFor({ timeout: 60_000 });
    await treeRow(page, /GeForce RTX 3090.*cosplay/).waitFor({ state: 'detached' });
    assert.deepEqual(readState(stateDir), original);
  });

  it('"GPU: Apply Cosplay…" asks first; a session whose container stopped outside is cleaned up by "GPU: Clean Up Orphans"', async () => {
    const { page } = bench;
    await runFromPalette(page, 'GPU: Apply Cosplay…');
    await pick(page, 'L4');
    // The target picker goes once the extension hears of the pick: wait for the next one before typing.
    await page
      .locator('.quick-input-widget .quick-input-title', { hasText: 'Apply the cosplay on which GPU?' })
      .waitFor();
    await pick(page, 'GPU 5');
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'Cosplay NVIDIA L4 on This machine, GPU 5?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /turn on persistence mode[\s\S]*cap power at 200 W/);
    await dialog.locator('.monaco-button', { hasText: /^Apply$/ }).click();
    await treeRow(page, /L4.*cosplay/).waitFor({ timeout: 60_000 });
    assert.notDeepEqual(readState(stateDir), original);
    const name = execFileSync('docker', ['ps', '-q', '--filter', 'label=gpudev.target=l4', '--format', '{{.Names}}'], {
      env: dockerEnv,
      encoding: 'utf8',
    }).trim();
    execFileSync('docker', ['stop', '-t', '1', name], { env: dockerEnv, stdio: 'ignore' }); // as a reboot or a crash would
    await runFromPalette(page, 'GPU: Refresh');
    await treeRow(page, /L4.*cosplay · orphan \(container exited\)/).waitFor();
    await runFromPalette(page, 'GPU: Clean Up Orphans');
    const cleanUp = page.locator('.monaco-dialog-box', { hasText: /Clean up \d+ orphans? on This machine\?/ });
    await cleanUp.waitFor();
    assert.match(
      await cleanUp.innerText(),
      /gpudev-l4-gpu5-\w+ \(\S+@\S+, \d+ min, container exited\): 3g\.40gb GPU instance \d+ at slice 0 destroyed, power limit back to 700 W, MIG mode back off, persistence mode back (on|off)/,
    );
    await bench.screenshot('cosplay-clean-up-orphans');
    await cleanUp.locator('.monaco-button', { hasText: 'Clean Up' }).click();
    await treeRow(page, /L4.*cosplay/).waitFor({ state: 'detached' });
    assert.deepEqual(readState(stateDir), original);
  });
});
