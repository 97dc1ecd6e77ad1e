import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SshRunner } from '../../src/hosts/sshRunner';
import { repoRoot } from '../unit/fixtures';
import type { Sshd } from './sshd';
import { tempDir } from '../unit/tempDir';

/** Starts (or reuses) the one-node Slurm cluster of lab/infra/slurm.sh; the node's name. */
export function startSlurm(): { node: string } {
  const out = execFileSync('bash', [path.join(repoRoot, 'lab/infra/slurm.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const vars = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  return { node: vars['SLURM_NODE']! };
}

export function stopSlurm(): void {
  execFileSync('bash', [path.join(repoRoot, 'lab/infra/slurm.sh'), 'stop']);
}

/** The login node's runner (the test sshd), its host key trusted. */
export function loginRunner(sshd: Sshd): SshRunner {
  return new SshRunner({
    label: 'login',
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.clientKey,
    knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
  });
}

/** What a user of OpenSSH has: an ssh config naming the login node `hpc-login`, and a known_hosts that trusts it. */
export function openSshUser(sshd: Sshd): { dir: string; userConfig: string; knownHostsFile: string } {
  const dir = tempDir('gpudev-attach-');
  const userConfig = `${dir}/user_ssh_config`;
  fs.writeFileSync(
    userConfig,
    `Host hpc-login\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.dir}/client_key\n`,
  );
  const knownHostsFile = `${dir}/known_hosts`;
  fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  return { dir, userConfig, knownHostsFile };
}
