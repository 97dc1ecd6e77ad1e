// The e2e files' way to the lab's infrastructure and the CLI: `infra('slurm.sh')` starts (or reuses) one
// part of lab/infra and returns its KEY=VALUE lines; `cli(...)` runs the built gpudev CLI.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';

export const infra = (script, env = {}, ...args) =>
  Object.fromEntries(
    execFileSync('bash', [path.join(repoRoot, 'lab/infra', script), ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    })
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2)),
  );

/** A compute node's sshd: port 22 of the node's address, accepting the user's key as a shared home would. */
export const NODE_SSHD = { GPUDEV_SSHD_DIR: '/tmp/gpudev-node-sshd', GPUDEV_SSHD_PORT: '22' };

export const cli = (...args) =>
  execFileSync('node', [path.join(repoRoot, 'dist/cli.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
