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

/** Where and how a second sshd runs beside the main one. */
export interface SshdOptions {
  readonly dir: string;
  readonly port: number;
  readonly logLevel?: 'INFO' | 'DEBUG1';
  /** A directory with another fake nvidia-smi, first on the server's PATH. */
  readonly fakeBin?: string;
  /** One more public key file to accept. */
  readonly authorize?: string;
}

const optionsEnv = (options?: SshdOptions) => ({
  ...process.env,
  ...(options && {
    GPUDEV_SSHD_DIR: options.dir,
    GPUDEV_SSHD_PORT: String(options.port),
    GPUDEV_SSHD_LOG_LEVEL: options.logLevel ?? 'INFO',
  }),
  ...(options?.fakeBin && { GPUDEV_SSHD_FAKE_BIN: options.fakeBin }),
  ...(options?.authorize && { GPUDEV_SSHD_AUTHORIZE: options.authorize }),
});

/** Starts (or reuses) the loopback sshd of lab/infra/sshd.sh, or another one beside it. */
export function startSshd(options?: SshdOptions): Sshd {
  const out = execFileSync('bash', [path.join(repoRoot, 'lab/infra/sshd.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: optionsEnv(options),
  });
  const vars = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  const dir = vars['SSHD_DIR']!;
  return {
    dir,
    port: Number(vars['SSHD_PORT']),
    user: vars['SSHD_USER']!,
    hostKeyLine: fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' '),
    clientKey: fs.readFileSync(path.join(dir, 'client_key')),
  };
}

export function stopSshd(options?: SshdOptions): void {
  execFileSync('bash', [path.join(repoRoot, 'lab/infra/sshd.sh'), 'stop'], { env: optionsEnv(options) });
}
