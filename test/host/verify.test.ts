// The Test Explorer's "GPU Cosplay" controller around a real session: `gpudev cosplay up` on the test
// Docker Engine (run.mjs starts it, as root), Cosplay: Verify through the command service, then the
// controller's items and the GPUs view's "Last verify" summary, and the item gone once the session stops.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { GpuTreeNode } from '../../src/ui/gpuTree';
import type { GpuDevTestApi } from '../../src/ui/testApi';
import { note, repoRoot, testApi, waitFor } from './host';

interface HostCosplay {
  profile: string;
  stateDir: string;
}

const CI = process.env.CI === 'true' || process.env.CI === '1';

/** The CLI over the same core, against the engine and fake GPU the extension host was given. */
async function gpudev(setup: HostCosplay, ...args: string[]): Promise<string> {
  const env = { ...process.env, GPUDEV_TEST_HOST_PROFILE: setup.profile, GPUDEV_FAKE_GPU_STATE: setup.stateDir };
  const cli = path.join(repoRoot(), 'out/src/cli.js');
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'cosplay', ...args], {
    env,
    cwd: os.homedir(),
    timeout: 120_000,
  });
  return stdout.trim();
}

function items(collection: vscode.TestItemCollection): vscode.TestItem[] {
  const all: vscode.TestItem[] = [];
  collection.forEach((item) => all.push(item));
  return all;
}

async function sessionNodes(api: GpuDevTestApi): Promise<GpuTreeNode[]> {
  const found: GpuTreeNode[] = [];
  const walk = async (node?: GpuTreeNode): Promise<void> => {
    for (const child of (await api.gpuTree.getChildren(node)) ?? []) {
      if (child.kind === 'session') found.push(child);
      else await walk(child);
    }
  };
  await walk();
  return found;
}

describe('the Test Explorer around a running cosplay session', function () {
  this.timeout(180_000);
  let api: GpuDevTestApi;
  let setup: HostCosplay;
  let session = '';
  before(function () {
    const given = process.env.GPUDEV_HOST_COSPLAY;
    if (!given) {
      if (CI) throw new Error('GPUDEV_HOST_COSPLAY is not set: test/host/run.mjs gives it when run as root');
      note('skipped: no test Docker Engine (test/host/run.mjs starts one only as root)');
      return this.skip();
    }
    setup = JSON.parse(given) as HostCosplay;
  });
  before(async function () {
    if (!setup) return;
    api = await testApi();
    const started = Date.now();
    session = await gpudev(setup, 'up', 'rtx3090', '--gpu', '3', '--strategy', 'mps');
    note(`gpudev cosplay up: ${session} in ${Date.now() - started} ms`);
  });
  after(async () => {
    if (session) await gpudev(setup, 'down', session).catch((error: unknown) => note(`down: ${String(error)}`));
  });

  it('a running session gets its "Cosplay: <session>" item, and Verify fills it with a child per check', async () => {
    await vscode.commands.executeCommand('gpuDev.refresh');
    const root = await waitFor('the session in the Test Explorer', () => api.verifyTests.items.get(session), 20_000);
    assert.equal(root.label, `Cosplay: ${session}`);
    assert.equal(root.children.size, 0, 'checks appear once verified');

    await vscode.commands.executeCommand('gpuDev.verifySession', session);
    const checks = items(root.children);
    note(`${checks.length} checks: ${checks.map((c) => c.id.slice(session.length + 1)).join(', ')}`);
    assert.ok(checks.length >= 10, `${checks.length} checks`);
    for (const check of checks) {
      assert.ok(check.id.startsWith(`${session}/`), check.id);
      assert.ok(check.label.length > 0 && check.description, `${check.id} has a title and its id as description`);
    }
    assert.ok(
      checks.some((c) => c.label.toLowerCase().includes('memory')),
      'a memory check is among them',
    );
    const shown = await waitFor('the verify summary on the session in the GPUs view', async () => {
      const node = (await sessionNodes(api)).find((n) => n.kind === 'session' && n.session.name === session);
      return node?.kind === 'session' && node.verified;
    });
    note(`GPUs view: last verify ${shown}`);
    assert.match(shown, /^[✓✗] \d+\/\d+/);
  });

  it('the item goes once the session is stopped', async () => {
    await gpudev(setup, 'down', session);
    session = '';
    await vscode.commands.executeCommand('gpuDev.refresh');
    await waitFor('no session left in the Test Explorer', () => api.verifyTests.items.size === 0, 20_000);
  });
});
