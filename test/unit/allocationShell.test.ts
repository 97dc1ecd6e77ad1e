import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocationShell } from '../../src/reserve/attach';
import { quoteArg } from '../../src/hosts/shellQuote';

/**
 * Runs the reservation terminal's command as ssh would hand it to the remote shell (`sh -c <it>`), with a
 * fake srun first on PATH: it records its arguments, fails the probe when told to, and otherwise runs the
 * step's command as a step would (SLURM_JOB_ID set). The shell it ends in reads `input`.
 */
function run(jobId: string, input: string, srunFails = false) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-alloc-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'home/.gpudev/jobs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'home/.gpudev/jobs', `${jobId}.env`), 'export MASTER_ADDR=node07 NNODES=1\n');
  fs.writeFileSync(
    path.join(dir, 'bin/srun'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> ${quoteArg(path.join(dir, 'srun.log'))}`,
      'while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done',
      `if [ "$1" = true ]; then ${srunFails ? 'echo "srun: error: Invalid job id specified" >&2; exit 1' : 'exit 0'}; fi`,
      `export SLURM_JOB_ID=${jobId}`,
      'exec "$@"',
    ].join('\n'),
    { mode: 0o755 },
  );
  const result = spawnSync('sh', ['-c', allocationShell(jobId, 'node07')], {
    input,
    encoding: 'utf8',
    env: { PATH: `${dir}/bin:/usr/bin:/bin`, HOME: path.join(dir, 'home'), SHELL: '/bin/sh' },
  });
  const srun = fs.readFileSync(path.join(dir, 'srun.log'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...result, srun };
}

describe("a reservation's terminal: a shell inside the job's allocation", () => {
  it('srun --jobid <job> --overlap on the node, the env file sourced, a login shell there', () => {
    const { stdout, srun, status } = run('4242', 'echo "in $SLURM_JOB_ID $MASTER_ADDR"\n');
    assert.equal(status, 0);
    assert.match(stdout, /^in 4242 node07$/m);
    assert.deepEqual(srun.trim().split('\n'), [
      '--jobid=4242 --overlap --nodes=1 --ntasks=1 --nodelist=node07 true',
      `--jobid=4242 --overlap --nodes=1 --ntasks=1 --nodelist=node07 --pty bash -c f="$HOME/.gpudev/jobs/4242.env"; [ -r "$f" ] && . "$f"; exec bash -l`,
    ]);
  });

  it('when srun cannot start a step, the shell says first that it is not inside the allocation, and why', () => {
    const { stdout, stderr } = run('77', 'echo "shell:${SLURM_JOB_ID:-none}"\n', true);
    assert.match(
      stderr,
      /gpudev: this shell on \S+ is NOT inside job 77's allocation: SLURM_JOB_ID and CUDA_VISIBLE_DEVICES are not set here/,
    );
    assert.match(stderr, / {2}srun: error: Invalid job id specified/);
    assert.match(stdout, /^shell:none$/m);
  });

  it('a job id is digits (an array task at most), never shell text', () => {
    assert.throws(() => allocationShell('1; rm -rf ~'), /not a Slurm job id/);
    assert.doesNotMatch(allocationShell('12', 'gpu01;reboot'), /reboot/);
  });
});
