import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';

/** Starts (or reuses) the one-node Slurm cluster of test/infra/slurm.sh; the node's name. */
export function startSlurm(): { node: string } {
  const out = execFileSync('bash', [path.join(repoRoot, 'test/infra/slurm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = Object.fromEntries(out.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  return { node: vars['SLURM_NODE']! };
}

export function stopSlurm(): void {
  execFileSync('bash', [path.join(repoRoot, 'test/infra/slurm.sh'), 'stop']);
}
