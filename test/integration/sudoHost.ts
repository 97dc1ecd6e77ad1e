// A user who is not root but has passwordless sudo, on the loopback sshd, with a fake GPU whose state
// both the user and root write: what the process-session tests with sudo share.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { ROOT_JOURNAL_DIR } from '../../src/cosplay/hostJournal';
import { SshRunner } from '../../src/hosts/sshRunner';
import { repoRoot } from '../unit/fixtures';
import { SCENARIO } from './fakeHost';
import { startSshd, type Sshd } from './sshd';

export const CI = process.env.CI === 'true' || process.env.CI === '1';
/** The fake host's number: its GPUs' UUIDs, and so the files of root's journal this test may touch. */
export const HOST = '18';

/** The test user `test/infra/user.sh` makes (as root), with `env` for which user and whether it has sudo. */
export function testUser(env: Readonly<Record<string, string>> = {}): { user: string; home: string } | undefined {
  const made = spawnSync('bash', [path.join(repoRoot, 'test/infra/user.sh')], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (made.status !== 0) return undefined;
  const vars = Object.fromEntries(
    made.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  return { user: vars['TEST_USER']!, home: vars['TEST_HOME']! };
}

export const sudoUser = () => testUser({ GPUDEV_TEST_USER: 'gpudev-sudoer', GPUDEV_TEST_USER_SUDO: '1' });

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** A folder of fake GPU state both the user and root write, with an idle GPU. */
export function gpuState(dir: string): string {
  fs.chmodSync(dir, 0o755);
  const state = path.join(dir, 'gpu');
  fs.mkdirSync(state, { mode: 0o777 });
  fs.chmodSync(state, 0o777);
  fs.writeFileSync(path.join(state, 'processes.json'), '[]');
  return state;
}

export const readState = (state: string) =>
  Object.fromEntries(
    fs
      .readdirSync(state)
      .filter((f) => /^gpu\d+\.json$/.test(f))
      .sort()
      .map((f) => [f, JSON.parse(fs.readFileSync(path.join(state, f), 'utf8')) as Record<string, unknown>]),
  );

export const found = (key: string) => {
  const entry = builtinCatalog().lookup(key);
  if (!entry.ok) throw new Error(entry.error.message);
  return entry.entry;
};

export const rootJournalFiles = (uuidPrefix: string) =>
  fs.existsSync(ROOT_JOURNAL_DIR)
    ? fs.readdirSync(ROOT_JOURNAL_DIR).filter((f) => f.startsWith(uuidPrefix) && f.endsWith('.json'))
    : [];

export interface SudoHost {
  readonly sshd: Sshd;
  readonly user: { readonly user: string; readonly home: string };
  /** The user's commands on the host, with the fake GPU (its state in `state`, fake host HOST). */
  readonly runner: SshRunner;
  readonly dir: string;
  readonly state: string;
  /** From nothing: the user's sessions and journal, and root's journal files of GPUs whose UUID starts with `prefix`. */
  fresh(prefix: string): Promise<void>;
  /** The user's MPS and session folders, journal files and session processes left, one a line. */
  leftovers(): Promise<string>;
}

/** The sudo user (undefined where it cannot be made: not root) and its connection to the loopback sshd. */
export function sudoHost(): SudoHost | undefined {
  const user = process.getuid?.() === 0 ? sudoUser() : undefined;
  if (!user) return undefined;
  const sshd = startSshd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-process-sudo-'));
  const state = gpuState(dir);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
  const runner = new SshRunner({
    label: 'lab',
    host: '127.0.0.1',
    port: sshd.port,
    username: user.user,
    privateKey: sshd.clientKey,
    knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
    env: { GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: state, GPUDEV_FAKE_GPU_HOST: HOST },
  });
  return {
    sshd,
    user,
    runner,
    dir,
    state,
    async fresh(prefix) {
      await runner.run([
        'sh',
        '-c',
        'pkill -u "$(id -u)" -f "[s]tate/gpudev/sessions/"; rm -rf "$HOME/.local/state/gpudev"',
      ]);
      for (const file of rootJournalFiles(prefix)) fs.rmSync(path.join(ROOT_JOURNAL_DIR, file));
    },
    async leftovers() {
      return (
        await runner.run([
          'sh',
          '-c',
          'find "$HOME/.local/state/gpudev" -path "*/mps/*" -o -path "*/sessions/*" -o -name "*.json"; pgrep -u "$(id -u)" -f "[s]tate/gpudev/(sessions|mps)/" || true',
        ])
      ).stdout.trim();
    },
  };
}
