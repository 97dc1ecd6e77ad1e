import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { quoteArg } from '../../src/hosts/shellQuote';
import { signalScript, stepScript } from '../../src/reserve/runOnReservation';

/**
 * Runs the step's script as the login node would (`sh -s`, the script on stdin) with an srun stand-in
 * first on PATH that records its options and runs the step's command as a step would.
 */
function runStep(command: string[], input = '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-step-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'home/.gpudev/jobs'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'home/gpudev/proj'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'home/.gpudev/jobs/42.env'), 'export MASTER_PORT=29542\n');
  fs.writeFileSync(
    path.join(dir, 'bin/srun'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" > ${quoteArg(path.join(dir, 'srun.log'))}`,
      'while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done',
      'export SLURM_JOB_ID=42',
      'exec "$@"',
    ].join('\n'),
    { mode: 0o755 },
  );
  const script = stepScript({ jobId: '42', command, remoteDir: 'gpudev/proj', runId: 'abcdef0123', node: 'n07' });
  const result = spawnSync('sh', ['-s'], {
    input: script + input,
    encoding: 'utf8',
    cwd: path.join(dir, 'home'),
    env: { PATH: `${dir}/bin:/usr/bin:/bin`, HOME: path.join(dir, 'home') },
  });
  const srun = fs.readFileSync(path.join(dir, 'srun.log'), 'utf8').trim();
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...result, srun };
}

describe('the step of Run on Reservation (its script through sh -s)', () => {
  it('srun --jobid --overlap on the node, named, in the synced folder, the env file sourced; words as typed', () => {
    const marker = path.join(os.tmpdir(), `gpudev-step-pwned-${process.pid}`);
    const hostile = `$(touch ${marker}) \`touch ${marker}\` ';touch ${marker}`;
    const { stdout, status, srun } = runStep([
      'sh',
      '-c',
      'echo "$SLURM_JOB_ID $MASTER_PORT $PYTHONUNBUFFERED $(basename "$PWD")"; printf "%s\\n" "$1"; exit 7',
      'x',
      hostile,
    ]);
    assert.equal(status, 7, 'the exit code of the command');
    assert.equal(stdout, `42 29542 1 proj\n${hostile}\n`);
    assert.ok(!fs.existsSync(marker), 'nothing in the words ran');
    assert.match(
      srun,
      /^--jobid=42 --overlap --nodes=1 --ntasks=1 --nodelist=n07 --job-name=gpudev-run-abcdef0123 --unbuffered sh -c /,
    );
  });

  it('the command never reads what follows the script on stdin', () => {
    const { stdout } = runStep(['sh', '-c', 'cat; echo end'], 'echo injected\n');
    assert.equal(stdout, 'end\n');
  });

  it('refuses ids that are not ids', () => {
    assert.throws(() => stepScript({ jobId: '1;x', command: ['true'], remoteDir: 'd', runId: 'abcdef0123' }));
    assert.throws(() => signalScript('42', 'not-hex!', 'INT'));
    assert.match(signalScript('42', 'abcdef0123', 'INT'), /scancel --signal=INT \$s/);
  });
});
