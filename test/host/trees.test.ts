// The GPUs and Reservations views as their tree providers give them to VS Code, for the fake GPU, for
// a machine whose driver fails, and for invalid gpuDev.hosts / gpuDev.clusters values; activation time.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GpuTreeNode } from '../../src/ui/gpuTree';
import type { GpuDevTestApi } from '../../src/ui/testApi';
import { contributions, note, testApi, waitFor } from './host';
import { holds } from './whenClause';

const SCENARIO = 'default-h100-x8-570.133.20';
const label = (item: vscode.TreeItem) => (typeof item.label === 'string' ? item.label : (item.label?.label ?? ''));
const setScenario = (name: string) => fs.writeFileSync(process.env.GPUDEV_FAKE_SMI_SCENARIO_FILE!, name);

/** Every log file under `dir`, recursively. */
const logFiles = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)) : [];

describe('the GPUs and Reservations views, through their tree providers', function () {
  let api: GpuDevTestApi;
  const children = async (node?: GpuTreeNode) => (await api.gpuTree.getChildren(node)) ?? [];
  const item = async (node: GpuTreeNode) => api.gpuTree.getTreeItem(node);
  /** This machine's node once a sample of the kind wanted arrived. */
  const thisMachine = (kind: 'gpus' | 'not gpus') =>
    waitFor(`This machine with a sample of ${kind}`, async () =>
      (await children()).find(
        (n) =>
          n.kind === 'host' &&
          n.name === 'This machine' &&
          n.result &&
          (n.result.kind === 'gpus') === (kind === 'gpus'),
      ),
    );

  before(async () => {
    assert.ok(process.env.GPUDEV_FAKE_SMI_SCENARIO_FILE, "the runner names the fake GPU's scenario file");
    api = await testApi();
  });

  it('activates quickly, and writes how long it took to its output channel', async () => {
    note(`activation: ${api.activationMs.toFixed(1)} ms`);
    assert.ok(api.activationMs > 0 && api.activationMs < 2000, `activation took ${api.activationMs} ms`);
    // The output channel's file lies in this window's extension host log folder, beside ours.
    const line = await waitFor('"activated in … ms" in the output channel\'s log', () => {
      const file = logFiles(path.dirname(api.logUri.fsPath)).find((f) => f.endsWith('GPU Dev Environments.log'));
      return file && /activated in [\d.]+ ms/.exec(fs.readFileSync(file, 'utf8'))?.[0];
    });
    note(`logged: ${line}`);
  });

  it("lists the fake GPU's eight H100s under This machine, with memory and utilisation", async () => {
    const host = await thisMachine('gpus');
    const hostItem = await item(host);
    assert.equal(label(hostItem), 'This machine');
    assert.equal(hostItem.contextValue, 'host');
    assert.equal(hostItem.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
    const gpus = await children(host);
    const items = await Promise.all(gpus.map(item));
    assert.deepEqual(
      items.map(label),
      [
        'GPU 0 · 100 % · 26.3/79.6 GiB',
        'GPU 1 · 100 % · 11.5/79.6 GiB',
        'GPU 2 · 100 % · 11.5/79.6 GiB',
        'GPU 3 · 100 % · 11.5/79.6 GiB',
        'GPU 4 · 95 % · 11.5/79.6 GiB',
        'GPU 5 · 73 % · 11.5/79.6 GiB',
        'GPU 6 · 100 % · 11.5/79.6 GiB',
        'GPU 7 · 89 % · 11.2/79.6 GiB',
      ],
      'what matters first: a narrow side bar cuts the end off',
    );
    assert.ok(items.every((i) => i.description === 'H100 80GB HBM3'));
    assert.equal(items[0]!.contextValue, 'gpu');
    assert.equal(items[0]!.command?.command, 'gpuDev.showGpuDetails');
  });

  it("a GPU's item opens the context menu package.json promises for it", async () => {
    const [gpu] = await children(await thisMachine('gpus'));
    const context = { view: 'gpuDev.gpus', viewItem: (await item(gpu!)).contextValue };
    const shown = contributions()
      .menus['view/item/context']!.filter((m) => m.when && holds(m.when, context))
      .map((m) => m.command);
    for (const command of [
      'gpuDev.showGpuDetails',
      'gpuDev.cosplayAs',
      'gpuDev.applyCosplay',
      'gpuDev.showInStatusBar',
    ]) {
      assert.ok(shown.includes(command), `${command} is not in the GPU's context menu: ${shown.join(', ')}`);
    }
  });

  it("lists a GPU's processes once the GPUs view shows", async () => {
    await vscode.commands.executeCommand('gpuDev.gpus.focus');
    await vscode.commands.executeCommand('gpuDev.refresh');
    const processes = await waitFor("GPU 0's processes", async () => {
      const [gpu] = await children(await thisMachine('gpus'));
      const found = await children(gpu);
      return found.length > 0 && found;
    });
    const items = await Promise.all(processes.map(item));
    assert.ok(items.some((i) => label(i) === 'python3' && /^pid 2085037 · 13\.0 GiB$/.test(String(i.description))));
    assert.ok(items.every((i) => i.contextValue === 'process'));
  });

  /** GPU: Refresh twice: the first may join a probe that began before the change. */
  const refresh = async () => {
    await vscode.commands.executeCommand('gpuDev.refresh');
    await vscode.commands.executeCommand('gpuDev.refresh');
  };

  it('a driver that stops answering: GPU: Refresh keeps the last GPUs, marked stale, and the GPUs are back once it answers', async () => {
    setScenario('driver-failure');
    try {
      await refresh();
      const host = await waitFor('This machine marked stale', async () => {
        const found = (await children()).find((n) => n.kind === 'host' && n.name === 'This machine');
        return found?.kind === 'host' && /^stale \(last sample \d+ s ago\)$/.test(found.description ?? '') && found;
      });
      assert.equal((await children(host)).length, 8, 'the last GPUs stay listed while stale');
    } finally {
      setScenario(SCENARIO);
    }
    await refresh();
    const host = await thisMachine('gpus');
    assert.equal((await item(host)).description, '8 GPUs');
  });

  it('without nvidia-smi: GPU: Refresh says there is no NVIDIA GPU, and finds the GPUs once it is back', async () => {
    const path = process.env.PATH;
    // The extension's runner spawns with this extension host's environment: nvidia-smi is gone from it.
    process.env.PATH = (path ?? '')
      .split(':')
      .filter((dir) => !dir.endsWith('lab/fake-gpu/bin'))
      .join(':');
    try {
      await refresh();
      const host = await thisMachine('not gpus');
      const [message] = await children(host);
      const shown = await item(message!);
      assert.deepEqual([label(shown), shown.description], ['No NVIDIA GPU', 'nvidia-smi not found']);
      const tooltip = typeof shown.tooltip === 'string' ? shown.tooltip : shown.tooltip?.value;
      assert.match(tooltip ?? '', /install the NVIDIA driver on this machine/);
    } finally {
      process.env.PATH = path;
    }
    await refresh();
    assert.equal((await children(await thisMachine('gpus'))).length, 8);
  });

  it('invalid gpuDev.hosts entries become notices at the top of the GPUs view', async () => {
    const config = vscode.workspace.getConfiguration('gpuDev');
    await config.update('hosts', [{ name: 'lab' }, 'gpu-box'], vscode.ConfigurationTarget.Global);
    try {
      const notices = await waitFor('two notices', async () => {
        const found = (await children()).filter((n) => n.kind === 'message' && n.host === 'notice');
        return found.length === 2 && found;
      });
      const items = await Promise.all(notices.map(item));
      assert.deepEqual(items.map(label), [
        'gpuDev.hosts[0] is not { name, ssh, sudo?, dockerSocket?, simulated? }',
        'gpuDev.hosts[1] is not { name, ssh, sudo?, dockerSocket?, simulated? }',
      ]);
      assert.deepEqual(
        items.map((i) => i.description),
        ['{"name":"lab"}', '"gpu-box"'],
      );
      assert.ok(items.every((i) => i.iconPath instanceof vscode.ThemeIcon && i.iconPath.id === 'warning'));
    } finally {
      await config.update('hosts', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the notices gone', async () => !(await children()).some((n) => n.kind === 'message'));
  });

  it('a simulated host (the demo lab) says so in its row and tooltip', async () => {
    const config = vscode.workspace.getConfiguration('gpuDev');
    await config.update(
      'hosts',
      [{ name: 'lab', ssh: 'nobody@127.0.0.1:1', simulated: true }],
      vscode.ConfigurationTarget.Global,
    );
    try {
      const host = await waitFor('the lab host', async () =>
        (await children()).find((n) => n.kind === 'host' && n.name === 'lab'),
      );
      const shown = await item(host);
      assert.match(String(shown.description), /simulated$/);
      assert.match(shown.tooltip as string, /^lab is a simulation \(the demo lab\)/);
    } finally {
      await config.update('hosts', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('invalid gpuDev.clusters entries are said in the Reservations view, which is empty (its welcome) without clusters', async () => {
    const roots = async () => (await api.reservations.getChildren()) ?? [];
    assert.deepEqual(await roots(), []);
    const config = vscode.workspace.getConfiguration('gpuDev');
    await config.update(
      'clusters',
      [{ name: 'hpc', scheduler: 'pbs', login: 'hpc-login' }],
      vscode.ConfigurationTarget.Global,
    );
    try {
      const [message] = await waitFor('a message', async () => {
        const found = await roots();
        return found.length > 0 && found;
      });
      assert.equal(message?.kind, 'message');
      const shown = await api.reservations.getTreeItem(message);
      assert.match(
        label(shown),
        /^gpuDev\.clusters\[0\] is not \{ .*name.*scheduler.*login.* \}: \{"name":"hpc","scheduler":"pbs","login":"hpc-login"\}$/,
      );
    } finally {
      await config.update('clusters', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the Reservations view empty again', async () => (await roots()).length === 0);
  });
});
