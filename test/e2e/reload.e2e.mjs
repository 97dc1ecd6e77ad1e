// Panels after Reload Window: the webview panels come back with what they showed (their serializers),
// and the plan says that applying it needs planning again.
import * as assert from 'node:assert/strict';
import { openWorkbench, pick, reportFailure, runFromPalette, webviewFrame } from './workbench.mjs';

describe('webview panels after Reload Window', function () {
  let bench;
  before(async () => {
    bench = await openWorkbench({
      scenario: 'default-h100-x8-570.133.20',
      settings: { 'gpuDev.monitor.intervalMs': 600000 },
    });
    await bench.page.locator('.statusbar-item', { hasText: 'GiB' }).waitFor();
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 15);
  });
  after(async () => bench?.close());

  it('the plan and a GPU details panel are restored with their content', async () => {
    const { page } = bench;
    await runFromPalette(page, 'GPU: Cosplay as RTX 3090');
    await pick(page, 'Plan for a host model');
    await pick(page, 'h100-sxm');
    const planTab = page.locator('.tab', { hasText: 'Cosplay Plan: NVIDIA GeForce RTX 3090 on NVIDIA H100 80GB HBM3' });
    await planTab.waitFor();
    await webviewFrame(page).locator('h1', { hasText: 'Cosplay NVIDIA GeForce RTX 3090' }).waitFor();
    await runFromPalette(page, 'GPU: Show GPU Details');
    await pick(page, '3: NVIDIA H100 80GB HBM3');
    const detailsTab = page.locator('.tab', { hasText: 'GPU 3 · This machine' });
    await detailsTab.waitFor();
    await webviewFrame(page).locator('h1', { hasText: 'GPU 3: NVIDIA H100 80GB HBM3 on This machine' }).waitFor();

    await runFromPalette(page, 'Developer: Reload Window');
    await page.locator('.statusbar-item', { hasText: 'GiB' }).waitFor({ timeout: 60_000 });
    await detailsTab.waitFor();
    await webviewFrame(page).locator('h1', { hasText: 'GPU 3: NVIDIA H100 80GB HBM3 on This machine' }).waitFor();
    await planTab.click();
    const plan = webviewFrame(page);
    await plan.locator('h1', { hasText: 'Cosplay NVIDIA GeForce RTX 3090 on NVIDIA H100 80GB HBM3' }).waitFor();
    await plan.locator('.apply', { hasText: 'Restored after a reload' }).waitFor();
    assert.ok(await plan.locator('button', { hasText: 'Apply' }).isDisabled());
    assert.match(await plan.locator('table.fidelity').innerText(), /VRAM\s+24\.0 GiB/);
  });
});
