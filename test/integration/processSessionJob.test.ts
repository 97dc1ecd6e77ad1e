// Process sessions inside a running Slurm reservation, through the CLI: the sshd is a step of the job
// (scontrol listpids), reached through the login node with OpenSSH's own client; scancel ends it and the
// session's keeper step clears its journal record; a session whose keeper is gone is an orphan cleanup clears.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { SshRunner } from '../../src/hosts/sshRunner';
import { sessionAlias } from '../../src/remote/sessionHostEntry';
import { cliHome, gpudevCosplay } from './cliHome';
import { loginRunner, startSlurm } from './slurm';
import { startSshd, type Sshd } from './sshd';

describe('process sessions inside a Slurm reservation', function () {
  this.timeout(120_000);
  let sshd: Sshd;
  let login: SshRunner;
  let home: string;
  let jobId = '';
  before(async () => {
    sshd = startSshd();
    startSlurm();
    login = loginRunner(sshd);
    home = cliHome(sshd);
    const submitted = await login.run([
      'sbatch',
      '--parsable',
      '--job-name=process-session-test',
      '--gres=gpu:h100:1',
      '--time=10',
      '--wrap',
      'sleep 600',
    ]);
    jobId = submitted.stdout.trim().split(';')[0]!;
    assert.match(jobId, /^\d+$/, submitted.stderr);
    for (let i = 0; i < 60; i++) {
      if ((await login.run(['squeue', '-h', '-j', jobId, '-o', '%T'])).stdout.trim() === 'RUNNING') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.fail(`job ${jobId} did not start`);
  });
  after(async () => {
    if (jobId) await login.run(['scancel', jobId]);
    login?.close();
    // Also after a failure: the login user's journal is what later tests see on this host.
    if (jobId && home) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await gpudev(['cleanup', '--yes', '--host', `${sshd.user}@127.0.0.1:${sshd.port}`]);
    }
  });

  const gpudev = (args: readonly string[]) => gpudevCosplay(home, args);

  it('runs its sshd as a step of the job, reached through the login node; scancel ends it and its keeper clears it; without a keeper, cleanup does', async () => {
    // The login node as user@host:port: OpenSSH reads ~/.ssh/config from the passwd home, not this test's HOME.
    const loginSpec = `${sshd.user}@127.0.0.1:${sshd.port}`;
    const where = ['--reservation', jobId, '--login', loginSpec];
    const up = await gpudev(['up', 'rtx3090', '--strategy', 'mps', ...where]);
    assert.equal(up.code, 0, up.stderr);
    const name = up.stdout.trim();
    const alias = sessionAlias(`${loginSpec}-job${jobId}`, name);
    const listed = JSON.parse((await gpudev(['list', '--json', ...where])).stdout) as {
      sessions: { name: string; running: boolean; process?: { port: number; folder: string } }[];
    };
    const session = listed.sessions.find((s) => s.name === name);
    assert.ok(session?.running && session.process?.port, JSON.stringify(listed));
    // The pid the session folder records (what stop signals), not a search that can find the searching shell.
    const sshdPid = (await login.run(['cat', `${session.process.folder}/sshd.pid`])).stdout.trim();
    assert.match(sshdPid, /^\d+$/);
    const jobPids = (await login.run(['scontrol', 'listpids', jobId])).stdout;
    assert.match(
      jobPids,
      new RegExp(`^${sshdPid}\\s`, 'm'),
      `the session sshd ${sshdPid} is one of job ${jobId}'s processes`,
    );

    const config = path.join(home, '.ssh/gpudev/config');
    const ssh = spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', alias, 'nvidia-smi', '-L'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(ssh.status, 0, ssh.stderr);
    assert.match(ssh.stdout, /NVIDIA GeForce RTX 3090/);

    // A second session whose keeper is killed: when the job ends, it is left as an orphan.
    const second = await gpudev(['up', 'rtx4090', '--strategy', 'memory', ...where]);
    assert.equal(second.code, 0, second.stderr);
    const orphaned = second.stdout.trim();
    const keeper = (
      await login.run(['pgrep', '-f', `^\\S*sh -c .* gpudev-keeper \\S+ \\S+ ${orphaned} `])
    ).stdout.trim();
    assert.match(keeper, /^\d+$/, `one keeper for ${orphaned}`);
    assert.match((await login.run(['scontrol', 'listpids', jobId])).stdout, new RegExp(`^${keeper}\\s`, 'm'));
    await login.run(['kill', '-KILL', keeper]);

    await login.run(['scancel', jobId]);
    for (let i = 0; i < 40 && (await login.run(['kill', '-0', sshdPid])).exitCode === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 250));
    assert.notEqual((await login.run(['kill', '-0', sshdPid])).exitCode, 0, 'the sshd ended with the job');
    jobId = '';
    const names = async () => {
      const after = JSON.parse((await gpudev(['list', '--json', '--host', loginSpec])).stdout) as typeof listed;
      return after.sessions.map((s) => s.name);
    };
    for (let i = 0; i < 40 && (await names()).includes(name); i++)
      await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(await names(), [orphaned], "the keeper cleared its session's record when the job ended");
    assert.equal((await login.run(['test', '-e', session.process.folder])).exitCode, 1, 'and its folder');
    const orphans = await gpudev(['orphans', '--host', loginSpec]);
    assert.match(orphans.stdout, new RegExp(`${orphaned} .*orphan \\(its sshd is gone\\)`));
    const cleanup = await gpudev(['cleanup', '--yes', '--host', loginSpec]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.match(cleanup.stdout, new RegExp(`${orphaned}: restored`));
  });
});
