import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';

export interface Dockerd {
  readonly socketPath: string;
  readonly image: string;
}

/** Starts (or reuses) the test Docker Engine of lab/infra/dockerd.sh. */
export function startDockerd(): Dockerd {
  const out = execFileSync('bash', [path.join(repoRoot, 'lab/infra/dockerd.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const vars = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  return { socketPath: vars['DOCKER_SOCKET']!, image: vars['DOCKER_IMAGE']! };
}

export function stopDockerd(): void {
  execFileSync('bash', [path.join(repoRoot, 'lab/infra/dockerd.sh'), 'stop']);
}
