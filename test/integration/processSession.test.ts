// A process session (no Docker, no root) on the loopback sshd as a user who is not root: the disguise
// through OpenSSH's own client and our Host entries, in a plain command and in a login shell; root-only
// steps reported; stop leaves the user's processes and files as they were.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { newSessionName } from '../../src/cosplay/apply';
import { shimArchive } from '../../src/cosplay/hostProfile';
import { planCosplay } from '../../src/cosplay/planner';
import { applyProcessSession, stopProcessSession } from '../../src/cosplay/process/processSession';
import { SshRunner } from '../../src/hosts/sshRunner';
import { hostJumpBlock, pinnedSessionKey, sessionAlias, sessionBlock } from '../../src/remote/sessionHostEntry';
import { repoRoot } from '../unit/fixtures';
import { cliHome, gpudevCosplay } from './cliHome';
import { SCENARIO } from './fakeHost';
import { startSshd, type Sshd } from './sshd';
import { tempDir } from '../unit/tempDir';
import { testUser } from './sudoHost';

const CI = process.env.CI === 'true' || process.env.CI === '1';

const entry = (key: string) => {
  const found = builtinCatalog().lookup(key);
  if (!found.ok) throw new Error(found.error.message);
  return found.entry;
};

describe('process sessions: a cosplay without Docker or root, reached through its own sshd', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  let user: { user: string; home: string };
  let runner: SshRunner;
  let dir: string;
  before(function () {
    const made = testUser();
    if (!made) {
      if (CI) throw new Error('the test user could not be made (test/infra/user.sh)');
      this.skip();
    }
    user = made;
    sshd = startSshd();
    dir = tempDir('gpudev-process-');
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, 'gpu'), { mode: 0o777 });
    fs.chmodSync(path.join(dir, 'gpu'), 0o777);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'key')]);
    runner = new SshRunner({
      label: 'lab',
      host: '127.0.0.1',
      port: sshd.port,
      username: user.user,
      privateKey: sshd.clientKey,
      knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
      env: {
        GPUDEV_FAKE_SMI_SCENARIO: SCENARIO,
        GPUDEV_FAKE_GPU_STATE: path.join(dir, 'gpu'),
        GPUDEV_FAKE_GPU_HOST: '3',
      },
    });
  });
  // A run that failed half-way leaves its sessions: the test user starts from nothing.
  beforeEach(() =>
    runner.run(['sh', '-c', 'pkill -u "$(id -u)" -f "[s]tate/gpudev/sessions/"; rm -rf "$HOME/.local/state/gpudev"']),
  );
  after(() => runner?.close());

  const gpudev = gpudevCosplay;

  const leftovers = async () =>
    (
      await runner.run([
        'sh',
        '-c',
        'find "$HOME/.local/state/gpudev" -path "*/mps/*" -o -path "*/sessions/*" -o -name "*.json"; pgrep -u "$(id -u)" -f "[s]tate/gpudev/(sessions|mps)/" || true',
      ])
    ).stdout.trim();

  it('the CLI: up without Docker on the host falls back to a process session, reached by its alias; list and down; SIGKILL mid-apply then cleanup restores', async () => {
    const home = cliHome(sshd);
    const spec = `${user.user}@127.0.0.1:${sshd.port}`;
    const up = await gpudev(home, ['up', 'rtx3090', '--gpu', '5', '--strategy', 'mps', '--host', spec]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /Docker is not usable on .*: a process session instead/);
    assert.match(up.stderr, /not applied: needs root/);
    const name = up.stdout.trim();
    const alias = sessionAlias(spec, name);
    assert.match(up.stderr, new RegExp(`ssh -F \\S+ ${alias}`));
    const list = await gpudev(home, ['list', '--host', spec]);
    assert.match(list.stdout, new RegExp(`${name} .*running \\(process session, sshd on port \\d+\\)`));
    const config = path.join(home, '.ssh/gpudev/config');
    const listed = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', alias, 'nvidia-smi', '-L'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /NVIDIA GeForce RTX 3090/);
    assert.equal((await gpudev(home, ['ssh-config', name, '--host', spec])).stdout.trim(), alias);
    const down = await gpudev(home, ['down', name, '--host', spec]);
    assert.equal(down.code, 0, down.stderr);
    assert.doesNotMatch(fs.readFileSync(config, 'utf8'), new RegExp(alias));
    assert.equal(await leftovers(), '');

    const steps = up.stderr.split('\n').filter((line) => line.startsWith('… ')).length;
    for (let k = 1; k <= steps; k++) {
      await gpudev(home, ['up', 'rtx3090', '--gpu', '5', '--strategy', 'mps', '--no-docker', '--host', spec], k);
      // What the host was still running for the killed CLI (its start script) finishes first.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // Killed as its sshd starts, the host may finish starting it: a whole, running session to stop, not an orphan.
      const listed = JSON.parse((await gpudev(home, ['list', '--json', '--host', spec])).stdout) as {
        sessions: { name: string; running: boolean }[];
      };
      for (const running of listed.sessions.filter((s) => s.running))
        assert.equal((await gpudev(home, ['down', running.name, '--host', spec])).code, 0);
      const cleanup = await gpudev(home, ['cleanup', '--yes', '--host', spec]);
      assert.equal(cleanup.code, 0, `killed at step ${k}: ${cleanup.stderr}`);
      assert.equal(await leftovers(), '', `killed at step ${k}, then cleanup`);
    }
  });

  it('applies as the user, disguises plain commands and login shells, reports root-only steps, and stops cleanly', async () => {
    const planned = planCosplay({
      target: entry('rtx3090'),
      host: entry('h100-sxm'),
      hostGpuCount: 8,
      strategy: 'mps',
    });
    assert.ok(planned.ok);
    const name = newSessionName('rtx3090', 2);
    const outcome = await applyProcessSession(
      {
        plan: planned.plan,
        gpuIndex: 2,
        hostLabel: 'lab',
        sessionName: name,
        owner: 'tester@ci',
        shimTar: await shimArchive(repoRoot, 'shim'),
        authorizedKeys: [fs.readFileSync(path.join(dir, 'key.pub'), 'utf8')],
        extraEnv: {
          GPUDEV_FAKE_SMI_SCENARIO: SCENARIO,
          GPUDEV_FAKE_GPU_STATE: path.join(dir, 'gpu'),
          GPUDEV_FAKE_GPU_HOST: '3',
          PYTHONPATH: path.join(repoRoot, 'shim/tests/fakes'),
        },
      },
      runner,
    );
    if (!outcome.ok) assert.fail(`${outcome.failedStep}: ${outcome.error.message}`);
    const { session } = outcome;
    assert.ok(
      session.notApplied.some((n) => /not applied: needs root — .*clock/i.test(n)),
      session.notApplied.join('\n'),
    );

    const alias = sessionAlias('lab', name);
    const knownHosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(
      knownHosts,
      `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n${pinnedSessionKey(alias, session.sshd.hostKey)}\n`,
    );
    const config = path.join(dir, 'config');
    const identity = [path.join(dir, 'key')];
    fs.writeFileSync(
      config,
      hostJumpBlock(
        alias,
        {
          host: '127.0.0.1',
          port: sshd.port,
          user: user.user,
          identityFiles: [],
          proxyJump: null,
          identityAgent: null,
        },
        [sshd.dir + '/client_key'],
        [knownHosts],
      ) +
        sessionBlock({
          alias,
          port: session.sshd.port,
          user: user.user,
          identity,
          knownHostsFile: knownHosts,
          jump: `${alias}-host`,
        }),
    );
    const ssh = (...command: string[]) => {
      const done = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', alias, ...command], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(done.status, 0, done.stderr);
      return done.stdout;
    };
    // The host's index, as `nvidia-smi -i` there knows it; only the session's GPU is listed.
    assert.match(ssh('nvidia-smi', '-L'), /^GPU 2: NVIDIA GeForce RTX 3090 [^\n]*\n$/);
    assert.match(ssh('bash', '-lc', "'nvidia-smi -L'"), /NVIDIA GeForce RTX 3090/);
    assert.match(ssh('nvidia-smi'), /NVIDIA GeForce RTX 3090/);
    const memory = ssh(
      'python3',
      '-c',
      "'import torch; print(torch.cuda.get_device_name(0), torch.cuda.get_device_properties(0).total_memory)'",
    );
    assert.match(memory, new RegExp(`NVIDIA GeForce RTX 3090 ${24 * 1024 ** 3}`));

    const stopped = await stopProcessSession({ name, gpuUuid: session.gpuUuid }, runner, 'tester@ci');
    assert.equal(stopped.failure, undefined);
    assert.equal((await runner.run(['test', '-e', session.folder])).exitCode, 1, 'the session folder is gone');
    assert.equal(await leftovers(), '', 'no MPS daemon or session sshd, no MPS or session folder, no journal file');
  });
});
