import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { excludeMatcher, syncExcludeOf } from '../../src/workspace/syncExclude';
import { tempDir } from './tempDir';

describe(".gpudev.yaml's sync.exclude", () => {
  it('matches names at any depth, anchored paths from the root, and everything under a matched folder', () => {
    const out = excludeMatcher(['*.ckpt', 'wandb/', 'data/raw/**', '/notes.txt', 'logs/*.log', '', '# a comment']);
    for (const excluded of [
      'model.ckpt',
      'runs/a/b.ckpt',
      'wandb/run-1/file',
      'x/wandb',
      'data/raw/a/b.bin',
      'notes.txt',
      'logs/1.log',
    ])
      assert.ok(out(excluded), excluded);
    for (const kept of ['model.ckpt.py', 'src/data/raw/a', 'sub/notes.txt', 'logs/a/1.log', 'train.py', 'wandbx/y'])
      assert.ok(!out(kept), kept);
  });

  it('reads the workspace file: none, a pattern list, or a sentence when it cannot be used', () => {
    const dir = tempDir('gpudev-sync-exclude-');
    assert.equal(syncExcludeOf(dir), undefined);
    fs.writeFileSync(path.join(dir, '.gpudev.yaml'), 'sync:\n  exclude: ["*.ckpt"]\n');
    const exclude = syncExcludeOf(dir);
    assert.equal(typeof exclude, 'function');
    assert.ok((exclude as (p: string) => boolean)('a/b.ckpt'));
    fs.writeFileSync(path.join(dir, '.gpudev.yaml'), 'sync:\n  exclud: ["*.ckpt"]\n');
    assert.match(syncExcludeOf(dir) as string, /^\.gpudev\.yaml:2: .*decides what is sent/);
  });
});
