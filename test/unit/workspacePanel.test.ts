import * as assert from 'node:assert/strict';
import { AnalyzeViewSchema, FromAnalyzeWebviewSchema, ToReserveWebviewSchema } from '../../webviews/protocol';
import { analyzeDirectory, analyzeView, builtinCatalog, lensSummary } from '../../src/workspace/index';

const folder = 'test/fixtures/workspaces/vllm-server';

describe('the analyze panel and the .gpudev.yaml CodeLens', () => {
  const report = analyzeDirectory(folder, builtinCatalog());

  it('the view passes the webview protocol, parts and fits as the panel shows them', () => {
    const view = AnalyzeViewSchema.parse(analyzeView(report, folder, false));
    assert.equal(view.folder, 'vllm-server');
    assert.equal(view.totalGiB, 22.45);
    assert.deepEqual(
      view.parts.map((p) => `${p.name} ${p.gib}`),
      ['Weights 14.96', 'KV cache 4', 'Activations 2.99', 'CUDA context 0.5'],
    );
    assert.deepEqual(view.fits[0], { key: 'rtx3090', name: 'RTX 3090', vramGiB: 24 });
    assert.equal(view.target, 'rtx3090');
  });

  it('the CodeLens: the need and the first fits', () => {
    assert.equal(lensSummary(report), 'needs 22.45 GiB · fits RTX 3090, RTX 3090 Ti, RTX A5000 +38');
  });

  it('the webview may ask to open a line only as a positive integer', () => {
    assert.ok(FromAnalyzeWebviewSchema.safeParse({ type: 'open', file: 'serve.py', line: 5 }).success);
    assert.ok(!FromAnalyzeWebviewSchema.safeParse({ type: 'open', file: 'serve.py', line: 0 }).success);
    assert.ok(!FromAnalyzeWebviewSchema.safeParse({ type: 'run', command: 'x' }).success);
  });

  it('the reservation panel takes the workspace’s types, count, time and cluster as its form values', () => {
    const clusters = [{ name: 'lab', login: 'lab', partitions: [] }];
    const prefill = { cluster: 'lab', types: 'a100, l40s', count: 2, time: '2h' };
    assert.ok(ToReserveWebviewSchema.safeParse({ type: 'clusters', clusters, prefill }).success);
    assert.ok(ToReserveWebviewSchema.safeParse({ type: 'clusters', clusters }).success);
    assert.ok(!ToReserveWebviewSchema.safeParse({ type: 'clusters', clusters, prefill: { nodes: 3 } }).success);
  });
});
