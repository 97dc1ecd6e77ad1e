import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { parseHostSpec, parseSshG, resolveSshTarget } from '../../src/hosts/sshConfig';
import { LocalRunner } from '../../src/hosts/runner';

describe('SSH host specs', () => {
  it('accepts aliases and user@host[:port]', () => {
    assert.deepEqual(parseHostSpec('gpu-box'), { user: null, host: 'gpu-box', port: null });
    assert.deepEqual(parseHostSpec('alice@10.0.0.5:2222'), { user: 'alice', host: '10.0.0.5', port: 2222 });
    assert.deepEqual(parseHostSpec('[::1]:22'), { user: null, host: '::1', port: 22 });
  });

  it('refuses hostile names before anything runs', () => {
    for (const spec of [
      '-oProxyCommand=touch /tmp/x',
      'a b',
      'host;id',
      '$(id)',
      "o'neil@h",
      'h:99999',
      'h\nx',
      '',
      '@h',
    ]) {
      assert.ok('message' in parseHostSpec(spec), spec);
    }
  });

  it('reads ssh -G output', () => {
    const target = parseSshG(
      'user alice\nhostname gpu.example\nport 2200\nidentityfile ~/.ssh/id_ed25519\nidentityfile /keys/k\nproxyjump login.example\nidentityagent none\n',
    );
    assert.deepEqual(target, {
      host: 'gpu.example',
      port: 2200,
      user: 'alice',
      identityFiles: [`${os.homedir()}/.ssh/id_ed25519`, '/keys/k'],
      proxyJump: 'login.example',
      identityAgent: null,
    });
    assert.equal(parseSshG('garbage'), null);
  });

  it('resolves through the real OpenSSH client', async () => {
    const target = await resolveSshTarget('bob@127.0.0.1:2222', new LocalRunner());
    assert.ok(!('message' in target));
    assert.equal(target.host, '127.0.0.1');
    assert.equal(target.port, 2222);
    assert.equal(target.user, 'bob');
  });
});
