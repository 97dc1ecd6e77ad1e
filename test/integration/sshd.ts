import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';

export interface Sshd {
  readonly dir: string;
  readonly port: number;
  readonly user: string;
  readonly hostKeyLine: string;
  readonly clientKey: Buffer;
}

/** Starts (or reuses) the loopback sshd of test/infra/sshd.sh. */
export function startSshd(): Sshd {
  const out = execFileSync('bash', [path.join(repoRoot, 'test/infra/sshd.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = Object.fromEntries(out.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  const dir = vars['SSHD_DIR']!;
  return {
    dir,
    port: Number(vars['SSHD_PORT']),
    user: vars['SSHD_USER']!,
    hostKeyLine: fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' '),
    clientKey: fs.readFileSync(path.join(dir, 'client_key')),
  };
}

export function stopSshd(): void {
  execFileSync('bash', [path.join(repoRoot, 'test/infra/sshd.sh'), 'stop']);
}
