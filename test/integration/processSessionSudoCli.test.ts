// `gpudev cosplay up --no-docker --sudo` as a user who is not root but has passwordless sudo: list and
// down (without --sudo: the session's folder points at root's journal), a session of two GPUs, and a
// SIGKILL of the CLI at each step of an apply, then `cleanup --sudo`, leaving the GPU as it was.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';
import { cliHome, gpudevCosplay } from './cliHome';
import { SCENARIO } from './fakeHost';
import { startSshd, stopSshd, type Sshd, type SshdOptions } from './sshd';
import { CI, freePort, gpuState, readState, rootJournalFiles, sudoHost, type SudoHost } from './sudoHost';

describe('the CLI’s process sessions with sudo', function () {
  this.timeout(180_000);
  let host: SudoHost;
  before(function () {
    const made = sudoHost();
    if (!made) {
      if (CI) throw new Error('the test user with sudo could not be made (test/infra/user.sh, as root)');
      this.skip();
    }
    host = made;
  });
  after(() => host?.runner.close());

  it('the CLI: up --no-docker --sudo, list --sudo, down; SIGKILL mid-apply then cleanup --sudo restores the GPU', async () => {
    // The CLI's commands carry no variables of their own: a second sshd gives its sessions the fake GPU's state.
    const cliState = gpuState(fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-process-sudo-cli-')));
    const options: SshdOptions = { dir: `${host.sshd.dir}-sudo`, port: await freePort() };
    process.env.GPUDEV_SSHD_GPU_STATE = cliState;
    let second: Sshd;
    try {
      second = startSshd(options);
    } finally {
      delete process.env.GPUDEV_SSHD_GPU_STATE;
    }
    try {
      const home = cliHome(second);
      const spec = `${host.user.user}@127.0.0.1:${second.port}`;
      const up = ['up', 'rtx3090', '--gpu', '6', '--strategy', 'mps', '--no-docker', '--sudo', '--host', spec];
      // A run that failed half-way: its sessions cleaned up first, the GPUs' state read as the fake starts it.
      await host.fresh('no-such-gpu');
      assert.equal((await gpudevCosplay(home, ['cleanup', '--yes', '--sudo', '--host', spec])).code, 0);
      execFileSync(path.join(repoRoot, 'lab/fake-gpu/bin/nvidia-smi'), ['--query-gpu=power.limit', '--format=csv'], {
        env: { ...process.env, GPUDEV_FAKE_SMI_SCENARIO: SCENARIO, GPUDEV_FAKE_GPU_STATE: cliState },
      });
      const original = readState(cliState);

      const applied = await gpudevCosplay(home, up);
      assert.equal(applied.code, 0, applied.stderr);
      assert.doesNotMatch(applied.stderr, /not applied/);
      const name = applied.stdout.trim();
      const sessions = (json: string) =>
        (JSON.parse(json) as { sessions: { name: string; gpuUuid: string; running: boolean; journal: string }[] })
          .sessions;
      const listed = sessions((await gpudevCosplay(home, ['list', '--json', '--sudo', '--host', spec])).stdout);
      const session = listed.find((s) => s.name === name);
      assert.equal(session?.journal, 'root');
      const prefix = session.gpuUuid;
      assert.match(String(readState(cliState)['gpu6.json']?.['clocks']), /^\d+,\d+$/, 'clocks locked');
      const list = await gpudevCosplay(home, ['list', '--sudo', '--host', spec]);
      assert.match(list.stdout, new RegExp(`${name} .*running \\(process session, sshd on port \\d+\\)`));
      // Stopped without --sudo: the session's folder, which the user's journal does not know, says root's has it.
      const down = await gpudevCosplay(home, ['down', name, '--host', spec]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /graphics clocks reset/);
      assert.deepEqual(readState(cliState), original);
      assert.equal(await host.leftovers(), '');

      // Two GPUs without Docker (and here without sudo): one process session, both GPUs in it.
      const two = await gpudevCosplay(home, ['up', 'rtx3090', '--gpu', '2,3', '--no-docker', '--host', spec]);
      assert.equal(two.code, 0, two.stderr);
      const both = sessions((await gpudevCosplay(home, ['list', '--json', '--host', spec])).stdout).find(
        (s) => s.name === two.stdout.trim(),
      ) as { running: boolean; gpus?: { index: number }[] } | undefined;
      assert.deepEqual([both?.running, both?.gpus?.map((g) => g.index)], [true, [2, 3]]);
      const alias = /ssh -F (\S+) (\S+)/.exec(two.stderr);
      assert.ok(alias, two.stderr);
      const shown = spawnSync('ssh', ['-F', alias[1]!, '-o', 'BatchMode=yes', alias[2]!, 'nvidia-smi', '-L'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, /^GPU 2: NVIDIA GeForce RTX 3090 .*\nGPU 3: NVIDIA GeForce RTX 3090 /);
      assert.equal((await gpudevCosplay(home, ['down', two.stdout.trim(), '--host', spec])).code, 0);
      assert.equal(await host.leftovers(), '');

      const steps = applied.stderr.split('\n').filter((line) => line.startsWith('… ')).length;
      for (let k = 1; k <= steps; k++) {
        await gpudevCosplay(home, up, k);
        // What the host was still running for the killed CLI finishes first.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const now = sessions((await gpudevCosplay(home, ['list', '--json', '--sudo', '--host', spec])).stdout);
        for (const running of now.filter((s) => s.running))
          assert.equal((await gpudevCosplay(home, ['down', running.name, '--sudo', '--host', spec])).code, 0);
        const cleanup = await gpudevCosplay(home, ['cleanup', '--yes', '--sudo', '--host', spec]);
        assert.equal(cleanup.code, 0, `killed at step ${k}: ${cleanup.stderr}`);
        assert.deepEqual(readState(cliState), original, `killed at step ${k}, then cleanup: the GPU is as it was`);
        assert.equal(await host.leftovers(), '', `killed at step ${k}, then cleanup`);
        assert.deepEqual(rootJournalFiles(prefix), [], `killed at step ${k}: root's journal is clear`);
      }
    } finally {
      stopSshd(options);
    }
  });
});
