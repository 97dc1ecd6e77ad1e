import * as assert from 'node:assert/strict';
import {
  expandTreeRow,
  openGpuContainer,
  openWorkbench,
  reportFailure,
  runFromPalette,
  treeRow,
  webviewFrame,
} from './workbench.mjs';

const gauge = (page) => page.locator('.statusbar-item', { hasText: 'GiB' });

describe('GPUs view and VRAM gauge in code-server, with an 8x H100 machine', function () {
  let bench;
  before(async () => {
    bench = await openWorkbench({
      scenario: 'default-h100-x8-570.133.20',
      settings: { 'gpuDev.monitor.intervalMs': 600000 },
    });
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, Infinity);
  });
  after(async () => bench?.close());

  it('puts the GPU container in the activity bar', async () => {
    await bench.page.locator('.activitybar .action-item [aria-label="GPU"]').first().waitFor();
  });

  it('lists every GPU under "This machine" with its memory and utilisation', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await treeRow(page, 'This machine').waitFor();
    await treeRow(page, '8 GPUs').waitFor();
    const first = treeRow(page, 'GPU 0 · ');
    await first.waitFor();
    // What matters first, where a narrow side bar does not cut it off; the model after it.
    assert.match(await first.innerText(), /^GPU 0 · 100 % · 26\.3\/79\.6 GiB\s*H100 80GB HBM3$/);
    await treeRow(page, 'GPU 7 · ').waitFor();
    await bench.screenshot('gpus-h100x8');
  });

  it('shows the first GPU in the status-bar gauge, saying which of the eight', async () => {
    const item = gauge(bench.page);
    await item.waitFor();
    assert.equal((await item.innerText()).trim(), '26.3/79.6 GiB · GPU 0');
    assert.equal(
      (await item
        .locator('[aria-label]')
        .first()
        .getAttribute('aria-label')
        .catch(() => null)) ?? (await item.getAttribute('aria-label')),
      'GPU 0 memory: 26.3 of 79.6 GiB used',
    );
  });

  it('clicking the gauge picks the GPU it shows; "Automatic" goes back to the first', async () => {
    const { page } = bench;
    await gauge(page).click();
    const picker = page.locator('.quick-input-widget');
    await picker.locator('.quick-input-list-row', { hasText: '7: H100 80GB HBM3' }).waitFor();
    await bench.screenshot('gauge-gpu-picker');
    await picker.locator('.quick-input-list-row', { hasText: '7: H100 80GB HBM3' }).click();
    await page.locator('.statusbar-item', { hasText: '11.2/79.6 GiB · GPU 7' }).waitFor();
    await gauge(page).click();
    await picker.locator('.quick-input-list-row', { hasText: 'Automatic' }).click();
    await page.locator('.statusbar-item', { hasText: '26.3/79.6 GiB · GPU 0' }).waitFor();
  });

  it('expanding a GPU lists its compute processes', async () => {
    const { page } = bench;
    await expandTreeRow(page, 'GPU 0 · ');
    const process = treeRow(page, 'pid 2085037');
    await process.waitFor();
    assert.match(await process.innerText(), /python3\s*pid 2085037 · 13\.0 GiB/);
    await bench.screenshot('gpu-processes');
    await page
      .locator('.pane-body .monaco-list-row[aria-expanded="true"]', { hasText: 'GPU 0 · ' })
      .locator('.monaco-tl-twistie')
      .click();
  });

  it('"GPU: Refresh" from the command palette samples again', async () => {
    const { page } = bench;
    bench.setScenario('default-l4-580.126.20');
    await runFromPalette(page, 'GPU: Refresh');
    const l4 = treeRow(page, 'GPU 0 · 0 % · 19.5/22.5 GiB');
    await l4.waitFor();
    assert.match(await l4.innerText(), /L4$/);
    await page.locator('.statusbar-item', { hasText: /^\s*19\.5\/22\.5 GiB\s*$/ }).waitFor(); // one GPU: no "GPU 0"
    assert.match(bench.extensionLog(), /refresh requested/);
    console.log(`      ${/activated in [\d.]+ ms/.exec(bench.extensionLog())?.[0] ?? 'activation time not logged'}`);
    await bench.screenshot('gpus-after-refresh-l4');
  });

  it('clicking a GPU opens its details: a chart of its history that follows each sample, the fields, the nvidia-smi -q report', async () => {
    const { page } = bench;
    bench.setScenario('default-h100-x8-570.133.20');
    await runFromPalette(page, 'GPU: Refresh');
    await treeRow(page, 'H100 80GB HBM3').first().waitFor();
    await treeRow(page, 'GPU 0 · ').click();
    await page.locator('.tab', { hasText: 'GPU 0 · This machine' }).waitFor();
    const details = webviewFrame(page);
    await details.locator('h1', { hasText: 'GPU 0: NVIDIA H100 80GB HBM3 on This machine' }).waitFor();
    await details.locator('td', { hasText: 'GPU-e5f404f3-cc2a-cf0c-219f-dcf1a4e223f2' }).waitFor();
    await details.locator('pre', { hasText: 'Product Name' }).waitFor();
    await details.locator('.chart canvas').first().waitFor();
    await details.locator('h2', { hasText: 'Utilisation and memory, last minute' }).waitFor(); // not a 10-minute axis
    const samples = async () =>
      Number(/(\d+) samples/.exec(await details.locator('p.summary').first().innerText())?.[1] ?? NaN);
    const before = await samples();
    assert.ok(before >= 1, `the chart starts from the samples taken since activation (${before})`);
    assert.match(
      await details.locator('p.summary').first().innerText(),
      /utilisation 100 %, memory 26\.3 GiB of 79\.6 GiB/,
    );
    await runFromPalette(page, 'GPU: Refresh');
    await details.locator('p.summary', { hasText: `${before + 1} samples` }).waitFor();
    await bench.screenshot('gpu-details');
  });

  it('"Edit in settings.json" on gpuDev.hosts offers an example entry to insert, not just []', async () => {
    const { page } = bench;
    await runFromPalette(page, 'Preferences: Open Settings (UI)');
    const search = page.locator('.settings-editor .suggest-input-container');
    await search.waitFor();
    await search.click();
    await page.keyboard.type('gpuDev.hosts');
    // A machine setting: code-server's window is a Remote window, so it is in the Remote settings.
    await page.locator('.settings-editor .settings-tabs-widget .action-label', { hasText: 'Remote' }).click();
    const setting = page.locator('.settings-editor .setting-item-contents', { hasText: 'SSH hosts whose GPUs' });
    await setting.locator('a', { hasText: 'Edit in settings.json' }).click();
    const suggestion = page.locator('.suggest-widget .monaco-list-row', { hasText: 'SSH host' }).first();
    await suggestion.waitFor();
    await bench.screenshot('settings-hosts-example');
    await suggestion.click();
    const editor = page.locator('.editor-instance .monaco-editor .view-lines').last();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.monaco-editor .view-lines')].some((e) => e.textContent?.includes('"ssh"')),
    );
    assert.match(
      (await editor.innerText()).replace(/\s+/g, ' '),
      /"gpuDev\.hosts": \[ \{ "name": "lab", "ssh": "user@gpu-box\.example\.org" \}/,
    );
    await bench.screenshot('settings-hosts-example-inserted'); // unsaved: the last test of this window
  });
});

describe('GPUs view and gauge in code-server, on a machine without the NVIDIA driver', function () {
  let bench;
  before(async () => {
    bench = await openWorkbench({ scenario: null });
  });
  after(async () => bench?.close());

  it('shows one honest item and no gauge', async () => {
    const { page } = bench;
    await openGpuContainer(page);
    const message = treeRow(page, 'No NVIDIA GPU');
    await message.waitFor();
    assert.match(await message.innerText(), /^No NVIDIA GPU\s*nvidia-smi not found$/);
    assert.equal(await gauge(page).count(), 0);
    assert.equal(
      await page.locator('.notifications-toasts .notification-toast').count(),
      0,
      'no popups on a machine without GPUs',
    );
    await bench.screenshot('gpus-no-driver');
  });
});
