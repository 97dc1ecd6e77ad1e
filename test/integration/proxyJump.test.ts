import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalRunner } from '../../src/hosts/runner';
import { createSshRunner } from '../../src/hosts/sshHosts';
import type { SshRunner } from '../../src/hosts/sshRunner';
import { startSshd, stopSshd, type Sshd, type SshdOptions } from './sshd';

const JUMP: SshdOptions = { dir: '/tmp/gpudev-sshd-jump', port: 2223, logLevel: 'DEBUG1' };

describe('ProxyJump through a second sshd (resolved by OpenSSH from an ssh config)', function () {
  this.timeout(60_000);
  let target: Sshd;
  let jump: Sshd;
  let tmp: string;
  const runners: SshRunner[] = [];
  before(() => {
    target = startSshd();
    jump = startSshd(JUMP);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-jump-'));
    fs.writeFileSync(
      path.join(tmp, 'config'),
      [
        'Host gpudev-jump',
        '  HostName 127.0.0.1',
        `  Port ${jump.port}`,
        `  User ${jump.user}`,
        `  IdentityFile ${jump.dir}/client_key`,
        'Host gpudev-target',
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        `  User ${target.user}`,
        `  IdentityFile ${target.dir}/client_key`,
        '  ProxyJump gpudev-jump',
        'Host gpudev-twice',
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        `  IdentityFile ${target.dir}/client_key`,
        `  ProxyJump ${jump.user}@127.0.0.1:${jump.port},gpudev-jump`,
        'Host gpudev-loop',
        '  HostName 127.0.0.1',
        '  ProxyJump gpudev-loop',
        'Host 127.0.0.1',
        `  IdentityFile ${jump.dir}/client_key`,
        '',
      ].join('\n'),
    );
  });
  after(() => {
    runners.forEach((r) => r.close());
    stopSshd(JUMP);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function knownHosts(lines: string[]): string {
    const file = path.join(tmp, `known_hosts_${lines.length}`);
    fs.writeFileSync(file, lines.join(''));
    return file;
  }
  const trustBoth = () =>
    knownHosts([
      `[127.0.0.1]:${target.port} ${target.hostKeyLine}\n`,
      `[127.0.0.1]:${jump.port} ${jump.hostKeyLine}\n`,
    ]);

  async function runnerFor(ssh: string, knownHostsFile: string): Promise<SshRunner> {
    const created = await createSshRunner({ name: ssh, ssh }, new LocalRunner(), {
      configFile: path.join(tmp, 'config'),
      knownHostsFiles: [knownHostsFile],
    });
    if ('message' in created) throw new Error(created.message);
    runners.push(created);
    return created;
  }
  const forwardsSeen = () =>
    (
      fs
        .readFileSync(path.join(jump.dir, 'log'), 'utf8')
        .match(new RegExp(`target 127\\.0\\.0\\.1 port ${target.port}\\b`, 'g')) ?? []
    ).length;

  it('runs commands on the target through a channel forwarded by the jump host', async () => {
    const before = forwardsSeen();
    const ssh = await runnerFor('gpudev-target', trustBoth());
    const result = await ssh.run(['nvidia-smi', '--query-gpu=name', '--format=csv,noheader']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.split('\n')[0], 'NVIDIA H100 80GB HBM3');
    assert.equal((await ssh.run(['echo', 'again'])).stdout, 'again\n');
    assert.equal(
      forwardsSeen(),
      before + 1,
      'the jump sshd forwarded one connection to the target, reused for both commands',
    );
  });

  it('follows a chain of hops (ProxyJump user@host:port,alias)', async () => {
    const ssh = await runnerFor('gpudev-twice', trustBoth());
    assert.equal((await ssh.run(['echo', 'two hops'])).stdout, 'two hops\n');
  });

  it("verifies the jump host's key too: an unknown one is refused with the line that trusts it", async () => {
    const ssh = await runnerFor('gpudev-target', knownHosts([`[127.0.0.1]:${target.port} ${target.hostKeyLine}\n`]));
    const result = await ssh.run(['echo', 'never']);
    assert.match(result.failure?.message ?? '', new RegExp(`^Unknown host key for \\[127\\.0\\.0\\.1\\]:${jump.port}`));
    assert.equal(result.untrustedHostKey?.knownHostsLine, `[127.0.0.1]:${jump.port} ${jump.hostKeyLine}`);
  });

  it("verifies the target's key behind the jump", async () => {
    const ssh = await runnerFor('gpudev-target', knownHosts([`[127.0.0.1]:${jump.port} ${jump.hostKeyLine}\n`]));
    const result = await ssh.run(['echo', 'never']);
    assert.match(
      result.failure?.message ?? '',
      new RegExp(`^Unknown host key for \\[127\\.0\\.0\\.1\\]:${target.port}`),
    );
  });

  it('a ProxyJump loop is refused with a clear error', async () => {
    const created = await createSshRunner({ name: 'loop', ssh: 'gpudev-loop' }, new LocalRunner(), {
      configFile: path.join(tmp, 'config'),
      knownHostsFiles: [],
    });
    assert.ok('message' in created);
    assert.match(created.message, /^loop: .*more than 8 ProxyJump hops/);
  });
});
