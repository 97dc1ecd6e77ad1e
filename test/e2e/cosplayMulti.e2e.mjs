// "Cosplay Several GPUs as…" on the fake 8×H100 host against a real Docker Engine (lab/infra/dockerd.sh):
// two RTX 3090s from GPUs 2 and 3 in one container, shown under both GPUs, stopped from the tree.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openLocalCosplay, readState } from './cosplayHost.mjs';
import {
  contextMenu,
  expandTreeRow,
  openGpuContainer,
  pick,
  reportFailure,
  treeRow,
  webviewFrame,
} from './workbench.mjs';

const SCENARIO = 'default-h100-x8-570.133.20';

describe('A multi-GPU cosplay session in code-server (real Docker Engine)', function () {
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

  it("two GPUs from a GPU's context menu: one session, in one container, under GPU 2 and GPU 3", async () => {
    const { page } = bench;
    await openGpuContainer(page);
    await contextMenu(page, treeRow(page, 'GPU 2 · '), 'Cosplay Several GPUs as…');
    await pick(page, 'RTX 3090');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'How many' }).waitFor();
    await pick(page, '2 GPUs');
    const view = webviewFrame(page);
    await view.locator('.apply', { hasText: 'Applies on This machine, GPU 2, 3' }).waitFor();
    await view.locator('td', { hasText: 'Interconnect' }).waitFor();
    await bench.screenshot('cosplay-multi-plan');
    await view.locator('button', { hasText: 'Apply' }).click();
    await page
      .locator('.notifications-toasts', {
        hasText: /session gpudev-rtx3090-gpu2-3-\w+ is running on This machine, GPU 2, 3/,
      })
      .waitFor({ timeout: 90_000 });
    const sessionRows = treeRow(page, /GeForce RTX 3090.*cosplay/);
    await sessionRows.first().waitFor();
    if ((await sessionRows.count()) < 2) await expandTreeRow(page, 'GPU 3 · ').catch(() => undefined);
    for (let waited = 0; (await sessionRows.count()) < 2 && waited < 20_000; waited += 250)
      await page.waitForTimeout(250);
    assert.equal(await sessionRows.count(), 2, 'the session under each of its GPUs');
    const rows = await page.locator('.pane-body .monaco-list-row').allInnerTexts();
    const at = (text) => rows.findIndex((r) => r.includes(text));
    const sessions = rows.flatMap((r, i) => (/GeForce RTX 3090.*cosplay/s.test(r) ? [i] : []));
    assert.ok(at('GPU 2 · ') < sessions[0] && sessions[0] < at('GPU 3 · '), rows.join(' | '));
    assert.ok(at('GPU 3 · ') < sessions[1] && sessions[1] < at('GPU 4 · '), rows.join(' | '));
    const visible = execFileSync(
      'docker',
      ['ps', '--filter', 'label=gpudev.target=rtx3090', '--format', '{{.Names}}'],
      { env: dockerEnv, encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    assert.equal(visible.length, 1, 'one container');
    const listed = execFileSync('docker', ['exec', visible[0], 'sh', '-c', 'echo "$GPUDEV_GPU_COUNT"'], {
      env: dockerEnv,
      encoding: 'utf8',
    });
    assert.equal(listed.trim(), '2');
    assert.notDeepEqual(readState(stateDir), original);
    await bench.screenshot('cosplay-multi-in-tree');
  });

  it('Stop from either GPU restores both', async () => {
    const { page } = bench;
    await contextMenu(page, treeRow(page, /GeForce RTX 3090.*cosplay/).last(), 'Stop Cosplay Session');
    const dialog = page.locator('.monaco-dialog-box', { hasText: /Stop cosplay session gpudev-rtx3090-gpu2-3-/ });
    assert.match(await dialog.innerText(), /GPU 2: [\s\S]*GPU 3: /);
    await dialog.locator('.monaco-button', { hasText: 'Stop' }).click();
    await treeRow(page, /GeForce RTX 3090.*cosplay/)
      .first()
      .waitFor({ state: 'detached', timeout: 90_000 });
    assert.deepEqual(readState(stateDir), original);
  });
});
