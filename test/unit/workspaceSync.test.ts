import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalRunner } from '../../src/hosts/runner';
import { repoRoot } from './fixtures';
import { workspaceFiles } from '../../src/reserve/sync/fileList';
import { diffManifest, statFiles } from '../../src/reserve/sync/manifest';
import {
  checkRemoteDir,
  defaultRemoteDir,
  RSYNC_DELTA_BYTES,
  rsyncPays,
  syncWorkspace,
  type SyncReport,
} from '../../src/reserve/sync/sync';

const local = new LocalRunner();

function workspace(git: boolean) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-sync-'));
  const write = (f: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  };
  write('train.py', 'print("hi")\n');
  write('pkg/model.py', 'x = 1\n');
  write("odd name's $(x).txt", 'quoted\n');
  write('out/big.bin', 'ignored\n');
  write('node_modules/m/index.js', 'skipped outside git\n');
  write('.gitignore', 'out/\n');
  if (git) execFileSync('git', ['init', '-q', root]);
  made.push(root, `${root}-remote`, `${root}-record.json`);
  return { root, write, remote: path.join(root, '..', `${path.basename(root)}-remote`) };
}

const ok = (report: SyncReport | { message: string }): SyncReport => {
  assert.ok(!('message' in report), JSON.stringify(report));
  return report;
};

const made: string[] = [];

describe('workspace sync (real tar and gzip through sh -s, real rsync, on this machine)', () => {
  before(function () {
    this.timeout(120_000);
    const installed = spawnSync('bash', [path.join(repoRoot, 'test/infra/rsync.sh')], { stdio: 'inherit' });
    assert.equal(installed.status, 0, 'rsync could not be installed');
  });
  after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('git-aware list: tracked and untracked-not-ignored; outside git a walk that skips caches', async () => {
    const git = workspace(true);
    assert.deepEqual(await workspaceFiles(git.root, local), {
      files: ['.gitignore', 'node_modules/m/index.js', "odd name's $(x).txt", 'pkg/model.py', 'train.py'],
      source: 'git',
    });
    const plain = workspace(false);
    const listed = await workspaceFiles(plain.root, local, { exclude: (f) => f.endsWith('.txt') });
    assert.deepEqual(listed, { files: ['.gitignore', 'out/big.bin', 'pkg/model.py', 'train.py'], source: 'walk' });
    const tooMany = await workspaceFiles(plain.root, local, { maxFiles: 2 });
    assert.match('message' in tooMany ? tooMany.message : '', /more than 2 files and is not a git repository/);
  });

  for (const transport of ['tar', 'rsync'] as const)
    it(`${transport}: first sync sends everything; the second only the changed file; deletions follow; a wiped folder gets a full sync`, async () => {
      const { root, write, remote } = workspace(true);
      const request = { root, remoteDir: remote, login: local, local, recordFile: `${root}-record.json`, transport };
      const first = ok(await syncWorkspace({ ...request, extra: ['out/big.bin'] }));
      assert.equal(first.full, true);
      assert.equal(first.sent.length, 6);
      assert.equal(fs.readFileSync(path.join(remote, "odd name's $(x).txt"), 'utf8'), 'quoted\n');
      assert.equal(
        fs.readFileSync(path.join(remote, 'out/big.bin'), 'utf8'),
        'ignored\n',
        'extra files go even if ignored',
      );

      write('pkg/model.py', 'x = 2 # changed\n');
      fs.rmSync(path.join(root, 'train.py'));
      const second = ok(await syncWorkspace({ ...request, extra: ['out/big.bin'] }));
      assert.deepEqual(
        [second.full, second.sent, second.deleted, second.execs],
        [false, ['pkg/model.py'], ['train.py'], 1],
      );
      assert.equal(fs.readFileSync(path.join(remote, 'pkg/model.py'), 'utf8'), 'x = 2 # changed\n');
      assert.ok(!fs.existsSync(path.join(remote, 'train.py')));

      const third = ok(await syncWorkspace({ ...request, extra: ['out/big.bin'] }));
      assert.deepEqual(third.sent, [], 'nothing changed: nothing sent');
      assert.ok(third.bytes < 400, `${third.bytes} bytes for nothing`);

      fs.rmSync(remote, { recursive: true });
      const wiped = ok(await syncWorkspace(request));
      assert.deepEqual([wiped.full, wiped.execs, wiped.sent.length], [true, 2, 4]);
      assert.equal(fs.readFileSync(path.join(remote, 'pkg/model.py'), 'utf8'), 'x = 2 # changed\n');
      assert.equal(wiped.transport, transport);
    });

  it('rsync missing here or on the login node: the tar sync instead, saying why; the two take turns on one folder', async () => {
    const { root, write, remote } = workspace(true);
    const request = { root, remoteDir: remote, login: local, local, recordFile: `${root}-record.json` };
    // A big file, so that later syncs that change it want rsync's delta transfer.
    write('weights.bin', 'a'.repeat(RSYNC_DELTA_BYTES));
    const noRemote = ok(await syncWorkspace({ ...request, rsync: { remote: 'rsync-not-installed' } }));
    assert.deepEqual([noRemote.transport, noRemote.fallback], ['tar', 'This machine has no rsync-not-installed']);
    assert.equal(noRemote.sent.length, 6);
    write('pkg/model.py', 'x = 3\n');
    write('weights.bin', `1${'a'.repeat(RSYNC_DELTA_BYTES - 1)}`);
    const noLocal = ok(await syncWorkspace({ ...request, rsync: { local: 'rsync-not-here' } }));
    assert.deepEqual(
      [noLocal.transport, noLocal.fallback, noLocal.sent],
      ['tar', 'this machine has no rsync', ['pkg/model.py', 'weights.bin']],
    );
    write('train.py', 'print("tar now")\n');
    const small = ok(await syncWorkspace(request));
    assert.deepEqual(
      [small.transport, small.sent, small.fallback],
      ['tar', ['train.py'], undefined],
      'a small change goes by tar, the faster here, without a word',
    );
    write('more.bin', 'm'.repeat(RSYNC_DELTA_BYTES));
    assert.equal(ok(await syncWorkspace(request)).transport, 'tar', 'a big new file gives rsync nothing to start from');
    write('weights.bin', `2${'a'.repeat(RSYNC_DELTA_BYTES - 1)}`);
    write('train.py', 'print("rsync now")\n');
    const both = ok(await syncWorkspace(request));
    assert.deepEqual(
      [both.transport, both.full, both.sent, both.fallback],
      ['rsync', false, ['train.py', 'weights.bin'], undefined],
      'a big file sent before and changed since: rsync, for its delta transfer',
    );
    assert.equal(fs.readFileSync(path.join(remote, 'train.py'), 'utf8'), 'print("rsync now")\n');
    assert.equal(fs.readFileSync(path.join(remote, 'weights.bin'), 'utf8')[0], '2');
    assert.equal(fs.readFileSync(path.join(remote, "odd name's $(x).txt"), 'utf8'), 'quoted\n');
    write('pkg/model.py', 'x = 4\n');
    const tarAgain = ok(await syncWorkspace({ ...request, transport: 'tar' }));
    assert.deepEqual([tarAgain.full, tarAgain.sent], [false, ['pkg/model.py']], "rsync's token is the tar sync's");
  });

  it('auto takes rsync for a full sync, or when a big file sent before has changed; tar otherwise', async () => {
    const { root, write } = workspace(false);
    write('weights.bin', 'a'.repeat(RSYNC_DELTA_BYTES));
    const sent = await statFiles(root, ['train.py', 'weights.bin']);
    assert.equal(await rsyncPays(root, undefined), true, 'no record: a full sync');
    assert.equal(await rsyncPays(root, { 'train.py': sent['train.py']! }), false, 'no big file in the record');
    assert.equal(await rsyncPays(root, sent), false, 'the big file unchanged');
    write('weights.bin', `b${'a'.repeat(RSYNC_DELTA_BYTES - 1)}`);
    fs.utimesSync(path.join(root, 'weights.bin'), new Date(), new Date(Date.now() + 5000));
    assert.equal(await rsyncPays(root, sent), true, 'the big file changed');
  });

  it('remote folders: ~/gpudev/<workspace> or under scratch; nothing a shell would run', () => {
    assert.equal(defaultRemoteDir('/home/me/My Project'), 'gpudev/My-Project');
    assert.equal(defaultRemoteDir('/w/proj', '/scratch/$USER/'), '/scratch/$USER/gpudev/proj');
    assert.match(checkRemoteDir('x; rm -rf ~')!.message, /may only hold/);
    assert.match(checkRemoteDir('a/../../etc')!.message, /may only hold/);
    assert.equal(checkRemoteDir('$HOME/gpudev/p'), undefined);
  });

  it('manifest diff: size, mtime or the executable bit', () => {
    const a = { size: 1, mtimeMs: 5, mode: 0o644 };
    assert.deepEqual(
      diffManifest({ x: a, y: a, z: a, gone: a }, { x: a, y: { ...a, mtimeMs: 6 }, z: { ...a, mode: 0o755 }, new: a }),
      { changed: ['new', 'y', 'z'], deleted: ['gone'] },
    );
  });
});
