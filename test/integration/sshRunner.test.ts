import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeGpus } from '../../src/hosts/gpuProbe';
import { SshRunner, type SshHost } from '../../src/hosts/sshRunner';
import { startSshd, stopSshd, type Sshd } from './sshd';

describe('SshRunner against a real sshd on loopback', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  const runners: SshRunner[] = [];
  before(() => {
    sshd = startSshd();
  });
  after(() => {
    runners.forEach((r) => r.close());
    stopSshd();
  });

  function runner(
    knownHosts: string,
    env: Record<string, string> = { GPUDEV_FAKE_SMI_SCENARIO: 'default-h100-x8-570.133.20' },
  ): SshRunner {
    const host: SshHost = {
      label: 'gpu-box',
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([knownHosts]),
      env,
    };
    const created = new SshRunner(host);
    runners.push(created);
    return created;
  }
  const trusted = () => `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`;
  const acceptedLogins = () =>
    (fs.readFileSync(path.join(sshd.dir, 'log'), 'utf8').match(/Accepted publickey/g) ?? []).length;

  it('samples the GPUs of the remote host (fake nvidia-smi on its PATH)', async () => {
    const result = await probeGpus(runner(trusted()));
    assert.equal(result.kind, 'gpus');
    if (result.kind === 'gpus') {
      assert.equal(result.host, 'gpu-box');
      assert.equal(result.gpus.length, 8);
      assert.equal(result.gpus[0]!.memoryUsedMiB, 26980);
    }
  });

  it('reuses one connection for every command', async () => {
    const ssh = runner(trusted());
    await ssh.run(['true']);
    const before = acceptedLogins();
    assert.ok(before > 0, 'sshd logs each login');
    for (let i = 0; i < 5; i++) assert.equal((await ssh.run(['echo', String(i)])).stdout, `${i}\n`);
    assert.equal(acceptedLogins(), before);
  });

  it('trusts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const file = path.join(sshd.dir, 'known_hosts_hashed');
    fs.writeFileSync(file, trusted());
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = fs.readFileSync(file, 'utf8');
    assert.match(hashed, /^\|1\|/);
    assert.equal((await runner(hashed).run(['echo', 'ok'])).stdout, 'ok\n');
  });

  it('refuses an unknown host key, naming its fingerprint as ssh-keygen prints it', async () => {
    const result = await runner('').run(['echo', 'never']);
    const printed = execFileSync('ssh-keygen', ['-lf', path.join(sshd.dir, 'host_key.pub')], {
      encoding: 'utf8',
    }).split(' ')[1]!;
    assert.equal(result.stdout, '');
    assert.equal(result.failure?.message, `Unknown host key for [127.0.0.1]:${sshd.port}: ssh-ed25519 ${printed}`);
    assert.equal(
      result.untrustedHostKey?.knownHostsLine,
      trusted().trim(),
      'the line that trusts it is the one OpenSSH would write',
    );
    assert.equal(result.retryable, false);
  });

  it('refuses a changed host key', async () => {
    const otherKey = path.join(sshd.dir, 'other_key');
    if (!fs.existsSync(otherKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const other = fs.readFileSync(`${otherKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const result = await runner(`[127.0.0.1]:${sshd.port} ${other}\n`).run(['echo', 'never']);
    assert.match(result.failure!.message, /has changed .*refusing to connect/);
    assert.equal(result.untrustedHostKey, undefined, 'a changed key is never offered for trust');
  });

  it('never lets an argument reach the remote shell unquoted', async () => {
    const marker = path.join(sshd.dir, 'pwned');
    fs.rmSync(marker, { force: true });
    const hostile = ['$(touch ' + marker + ')', "it's", 'a;b', '`id`', 'new\nline', '*', ''];
    const result = await runner(trusted()).run(['printf', '%s|', ...hostile]);
    assert.equal(result.stdout, hostile.map((h) => `${h}|`).join(''));
    assert.equal(fs.existsSync(marker), false);
  });

  it('a dropped connection is reported, then re-established when the host is back', async () => {
    const ssh = runner(trusted());
    assert.equal((await ssh.run(['echo', 'up'])).stdout, 'up\n');
    stopSshd();
    const down = await ssh.run(['echo', 'down']);
    assert.match(down.failure?.message ?? '', /^Cannot reach gpu-box/);
    assert.equal(down.retryable, undefined, 'an unreachable host is worth retrying');
    startSshd();
    assert.equal((await ssh.run(['echo', 'back'])).stdout, 'back\n');
  });

  it('a passphrase-protected key opens with its passphrase; a wrong one says so and is not retried', async () => {
    const locked = fs.readFileSync(path.join(sshd.dir, 'client_key_locked'));
    const withPassphrase = (passphrase: string) => {
      const created = new SshRunner({
        label: 'locked',
        host: '127.0.0.1',
        port: sshd.port,
        username: sshd.user,
        privateKey: locked,
        passphrase,
        knownHosts: () => Promise.resolve([trusted()]),
      });
      runners.push(created);
      return created;
    };
    assert.equal((await withPassphrase('gpudev-test-passphrase').run(['echo', 'open'])).stdout, 'open\n');
    const wrong = withPassphrase('guess');
    const result = await wrong.run(['echo', 'never']);
    assert.equal(result.failure?.code, 'bad-passphrase');
    assert.equal(result.retryable, false);
  });

  it('a missing program is "not found", like locally', async () => {
    const result = await runner(trusted()).run(['gpudev-no-such-program']);
    assert.equal(result.notFound, true);
  });
});
