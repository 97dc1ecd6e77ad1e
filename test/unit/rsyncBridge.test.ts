import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseHeader, RSH } from '../../src/reserve/sync/rsyncBridge';
import { parseItemized, rsyncWrapper } from '../../src/reserve/sync/rsyncSync';

describe('rsync over our connection: the pieces', () => {
  it("the remote shell's header: the count, then the words, NUL-separated; the bytes after it are rsync's", () => {
    const header = Buffer.from('3\0gpudev\0rsync\0--server\0\x01\x02');
    assert.equal(parseHeader(header.subarray(0, 10)), undefined, 'not all in yet');
    const parsed = parseHeader(header)!;
    assert.deepEqual(parsed.argv, ['gpudev', 'rsync', '--server']);
    assert.deepEqual([...parsed.rest], [1, 2]);
    assert.deepEqual(parseHeader(Buffer.from('2\0a b\0\0'))!.argv, ['a b', ''], 'an empty word is a word');
  });

  it('the remote shell sends its words, then passes its stdin on (sh gives a background command /dev/null)', () => {
    // rsync splits --rsh at spaces outside quotes; here sh does: the single-quoted script is one word.
    const script = /^sh -c '(.*)' gpudev-rsh$/.exec(RSH)![1]!;
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-rsh-')), 'fd3');
    // fd 3 write-only here: the foreground cat (the way back to rsync) has nothing to read and ends.
    spawnSync('sh', ['-c', `sh -c '${script}' gpudev-rsh host rsync --server 3>"$0" 2>/dev/null`, out], {
      input: 'from rsync',
    });
    assert.equal(fs.readFileSync(out, 'utf8'), '3\0host\0rsync\0--server\0from rsync');
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });

  it("rsync's itemized lines: files sent, files removed (folders left out)", () => {
    assert.deepEqual(
      parseItemized(
        [
          'cd+++++++++ pkg/',
          '<f+++++++++ pkg/a b.py',
          '<f.st...... train.py',
          '*deleting   old.py',
          '*deleting   gone/',
          '',
        ].join('\n'),
      ),
      { sent: ['pkg/a b.py', 'train.py'], deleted: ['old.py'] },
    );
  });

  it('the server runs in the folder whose token matches, and only where rsync is', () => {
    const line = rsyncWrapper('gpudev/proj', 'rsync', 'aaaa', 'bbbb');
    assert.match(
      line,
      /^d="gpudev\/proj"; command -v rsync >\/dev\/null 2>&1 \|\| exit 77; cd "\$d" .*= bbbb \] \|\| exit 75; rm -f \.gpudev-sync; "\$@"; s=\$\?; \[ \$s = 0 \] && echo aaaa > \.gpudev-sync; exit \$s$/,
    );
    assert.doesNotMatch(line, /[!'\n]/, 'one line that tcsh and fish pass through: no history, no quotes');
    assert.throws(() => rsyncWrapper('x"; touch /tmp/p; "', 'rsync', 'aaaa'));
    assert.throws(() => rsyncWrapper('d', 'rsync; id', 'aaaa'));
  });
});
