// Our commands run through VS Code's command service, with the prompts a user would see answered by
// the test: GPU: Refresh, Cosplay as… for a host model and for the fake GPU, Open Fidelity Report… on
// the recorded reports, and every command of package.json returning with each prompt dismissed.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { GpuTreeNode } from '../../src/ui/gpuTree';
import type { GpuDevTestApi } from '../../src/ui/testApi';
import { answering, contributions, note, sleep, testApi, waitFor, webviewTabs } from './host';

const closeEditors = () => vscode.commands.executeCommand('workbench.action.closeAllEditors');
const byDetail = (detail: string) => (items: vscode.QuickPickItem[]) => items.find((i) => i.detail === detail);
const byLabel = (text: string) => (items: vscode.QuickPickItem[]) => items.find((i) => i.label.includes(text));

describe("commands, through VS Code's command service", function () {
  let api: GpuDevTestApi;
  let gpus: GpuTreeNode[];
  before(async () => {
    api = await testApi();
    const host = await waitFor("This machine's GPUs", async () =>
      ((await api.gpuTree.getChildren()) ?? []).find((n) => n.kind === 'host' && n.result?.kind === 'gpus'),
    );
    gpus = (await api.gpuTree.getChildren(host)) ?? [];
  });
  afterEach(closeEditors);

  it('GPU: Refresh resolves once This machine was sampled again', async () => {
    const started = Date.now();
    await vscode.commands.executeCommand('gpuDev.refresh');
    const host = ((await api.gpuTree.getChildren()) ?? []).find((n) => n.kind === 'host');
    const at = host?.kind === 'host' ? (host.result?.at ?? 0) : 0;
    note(`refreshed in ${Date.now() - started} ms; the sample shown is from ${at - started} ms after the press`);
    // A probe already under way when Refresh is pressed is joined, not repeated: at most one interval old.
    assert.ok(at >= started - 2000, `the sample shown is ${started - at} ms older than the press`);
  });

  it('Cosplay as… plans for a host model: target, "Plan for a host model…", the model, then the plan panel', async () => {
    const asked = await answering([byDetail('rtx3090'), byLabel('Plan for a host model'), byDetail('h100-sxm')], () =>
      vscode.commands.executeCommand('gpuDev.cosplayAs'),
    );
    assert.deepEqual(
      asked.map((a) => a.title),
      ['Cosplay as…', 'Cosplay on which host?', 'Plan for a host model'],
    );
    assert.ok(
      asked[1]!.items.some((i) => i.includes('GPU 0: NVIDIA H100 80GB HBM3')),
      'the fake GPU is offered as a host',
    );
    const tabs = await waitFor('the plan panel', () =>
      webviewTabs('gpuDev.plan').find((t) => t.startsWith('Cosplay Plan:')),
    );
    assert.match(tabs, /^Cosplay Plan: NVIDIA GeForce RTX 3090 on NVIDIA H100/);
  });

  it("Cosplay as… on the fake GPU's item plans for that GPU without asking for a host", async () => {
    const asked = await answering([byDetail('l4')], () => vscode.commands.executeCommand('gpuDev.cosplayAs', gpus[0]));
    assert.deepEqual(
      asked.map((a) => a.title),
      ['Cosplay as…'],
    );
    await waitFor('the plan panel', () =>
      webviewTabs('gpuDev.plan').find((t) => /^Cosplay Plan: NVIDIA L4 on /.test(t)),
    );
  });

  it('Open Fidelity Report… offers the recorded reports, newest first, and opens the one picked', async () => {
    const asked = await answering([(items) => items[1]], () =>
      vscode.commands.executeCommand('gpuDev.openFidelityReport'),
    );
    assert.equal(asked.length, 1);
    // test/fixtures/reports: three recorded reports of the same session.
    assert.deepEqual(asked[0]!.items, [
      'NVIDIA GeForce RTX 3090 on This machine',
      'NVIDIA GeForce RTX 3090 on This machine',
      'NVIDIA GeForce RTX 3090 on This machine',
    ]);
    const tab = await waitFor('the fidelity panel', () => webviewTabs('gpuDev.fidelity')[0]);
    assert.equal(tab, 'Fidelity: NVIDIA GeForce RTX 3090 on This machine');
  });

  it('every command returns, with each prompt dismissed and no argument, on a machine with no session, host or cluster', async function () {
    this.timeout(60_000);
    const outcomes: string[] = [];
    for (const { command } of contributions().commands) {
      const started = Date.now();
      const run = answering([], () => vscode.commands.executeCommand(command)).then(
        (asked) => asked.map((a) => `${a.kind} "${a.title}"`),
        (error: unknown) => `threw ${String(error)}`,
      );
      // A quick pick made with createQuickPick is not the window's showQuickPick: dismissed as Escape would.
      let outcome = await Promise.race([run, sleep(1500).then(() => 'pending' as const)]);
      const escaped = outcome === 'pending';
      if (escaped) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      if (outcome === 'pending')
        outcome = await Promise.race([run, sleep(10_000).then(() => 'did not return within 10 s after Escape')]);
      const said =
        typeof outcome === 'string'
          ? outcome
          : [...outcome, ...(escaped ? ['a quick pick dismissed with Escape'] : [])].join(', ') || 'nothing asked';
      outcomes.push(`${command} (${Date.now() - started} ms): ${said}`);
      await closeEditors();
    }
    outcomes.forEach((line) => note(line));
    assert.deepEqual(
      outcomes.filter((o) => /\): (did not return|threw) /.test(o)),
      [],
    );
  });
});
