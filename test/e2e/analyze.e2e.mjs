import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';
import { openWorkbench, pick, reportFailure, runFromPalette, webviewFrame } from './workbench.mjs';

const fixture = path.join(repoRoot, 'test/fixtures/workspaces/vllm-server');
const workspaceFiles = Object.fromEntries(
  fs.readdirSync(fixture).map((file) => [file, fs.readFileSync(path.join(fixture, file), 'utf8')]),
);

describe('Analyze Workspace in code-server', function () {
  let bench;
  before(async () => {
    bench = await openWorkbench({
      scenario: 'default-h100-x8-570.133.20',
      settings: { 'gpuDev.monitor.intervalMs': 600000 },
      workspaceFiles,
    });
    await bench.page.locator('.statusbar-item', { hasText: 'GiB' }).waitFor();
  });
  afterEach(function () {
    return reportFailure(this.currentTest, bench, 20);
  });
  after(async () => bench?.close());

  it('the panel shows the estimate and the GPUs it fits; a finding opens its file at its line', async () => {
    const { page } = bench;
    await runFromPalette(page, 'GPU: Analyze Workspace');
    await page.locator('.tab', { hasText: 'Workspace GPU: 22.45 GiB' }).waitFor();
    const view = webviewFrame(page);
    await view.locator('h2', { hasText: 'Needs 22.45 GiB per GPU' }).waitFor();
    assert.match(await view.locator('.summary').innerText(), /inference · meta-llama\/Llama-3\.1-8B-Instruct/);
    assert.match(await view.locator('table.parts').innerText(), /KV cache\s+4\.00 GiB/);
    assert.match(await view.locator('.fits').innerText(), /^RTX 3090 \(/);
    await bench.screenshot('analyze-workspace-vllm');
    await view.locator('a.finding', { hasText: 'serve.py:5' }).click();
    await page.locator('.tab.active', { hasText: 'serve.py' }).waitFor();
    await page.locator('.editor-status-selection, .statusbar-item', { hasText: 'Ln 5' }).first().waitFor();
  });

  it('Write .gpudev.yaml → a wrong value shows in Problems with its line', async () => {
    const { page } = bench;
    await page.locator('.tab', { hasText: 'Workspace GPU' }).click();
    await webviewFrame(page).locator('button', { hasText: 'Write .gpudev.yaml' }).click();
    await page.locator('.tab.active', { hasText: '.gpudev.yaml' }).waitFor();
    const file = path.join(bench.workspace, '.gpudev.yaml');
    assert.match(fs.readFileSync(file, 'utf8'), /^workload: inference$/m);
    assert.match(fs.readFileSync(file, 'utf8'), /^ {2}target: rtx3090$/m);
    await page.locator('.codelens-decoration', { hasText: 'needs 22.45 GiB · fits RTX 3090' }).waitFor();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('precision: bf16', 'precision: bf17'));
    await runFromPalette(page, 'View: Focus Problems (Errors, Warnings, Infos)');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'precision: Invalid option' }).waitFor();
    assert.match(
      await page.locator('.markers-panel .monaco-list-row', { hasText: 'precision: Invalid option' }).innerText(),
      /\[Ln \d+, Col 12\]/,
    );
    await bench.screenshot('analyze-gpudev-yaml-problem');
  });

  it('Cosplay as <fit> opens the plan with that target', async () => {
    const { page } = bench;
    await page.locator('.tab', { hasText: 'Workspace GPU' }).click();
    await webviewFrame(page).locator('button', { hasText: 'Cosplay as rtx3090' }).click();
    await pick(page, 'Plan for a host model');
    await pick(page, 'h100-sxm');
    await page.locator('.tab', { hasText: 'Cosplay Plan: NVIDIA GeForce RTX 3090 on NVIDIA H100 80GB HBM3' }).waitFor();
  });
});
