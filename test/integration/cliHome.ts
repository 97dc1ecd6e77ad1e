// The CLI as its own process with a home of its own (its ssh config and known_hosts land there): the
// loopback sshd's client key as the user's key, its host key trusted, the test host profile's variables.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';
import { SCENARIO } from './fakeHost';
import type { Sshd } from './sshd';
import { tempDir } from '../unit/tempDir';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function cliHome(sshd: Sshd): string {
  const home = tempDir('gpudev-cli-home-');
  fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
  fs.copyFileSync(path.join(sshd.dir, 'client_key'), path.join(home, '.ssh/id_ed25519'));
  fs.chmodSync(path.join(home, '.ssh/id_ed25519'), 0o600);
  fs.writeFileSync(path.join(home, '.ssh/known_hosts'), `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  // A process session keeps the host's PATH whatever the profile says (`PATH` is there to prove it).
  const env = {
    GPUDEV_FAKE_SMI_SCENARIO: SCENARIO,
    PYTHONPATH: path.join(repoRoot, 'shim/tests/fakes'),
    PATH: '/nowhere',
  };
  fs.writeFileSync(
    path.join(home, 'profile.json'),
    JSON.stringify({ image: 'unused', gpuRequest: false, binds: [], env }),
  );
  return home;
}

/** `gpudev cosplay …` from `home`; `killAtStep` SIGKILLs it (and its children) when it starts that step. */
export function gpudevCosplay(home: string, args: readonly string[], killAtStep?: number): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'out/src/cli.js'), 'cosplay', ...args], {
      env: { ...process.env, HOME: home, GPUDEV_TEST_HOST_PROFILE: path.join(home, 'profile.json') },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (killAtStep !== undefined && (stderr.match(/^… /gm) ?? []).length >= killAtStep)
        process.kill(-child.pid!, 'SIGKILL');
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
