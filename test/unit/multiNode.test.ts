import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { quoteArg } from '../../src/hosts/shellQuote';
import { multiNodeLaunch } from '../../src/reserve/multiNode';
import { stepScript } from '../../src/reserve/runOnReservation';

/**
 * The step's script through `sh -s` as the login node runs it, with stand-ins first on PATH: an srun that
 * records its options and starts its --ntasks tasks one after the other the way slurmstepd does (each with
 * SLURM_NODEID and SLURM_STEP_NUM_NODES, in the submitting folder), and launchers that print their words.
 */
function runOnNodes(command: string[], nodeCount: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-multinode-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(dir, 'home/.gpudev/jobs'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'home/gpudev/proj'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'home/.gpudev/jobs/42.env'),
    'export MASTER_ADDR=gpu07 MASTER_PORT=29542 NNODES=9 NODE_RANK=99\n',
  );
  fs.writeFileSync(
    path.join(bin, 'srun'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" > ${quoteArg(path.join(dir, 'srun.log'))}`,
      'n=1; while [ $# -gt 0 ]; do case "$1" in --ntasks=*) n=${1#--ntasks=}; shift ;; --*) shift ;; *) break ;; esac; done',
      'i=0; status=0',
      'while [ $i -lt $n ]; do (cd "$PWD" && SLURM_NODEID=$i SLURM_STEP_NUM_NODES=$n "$@") || status=$?; i=$((i + 1)); done',
      'exit $status',
    ].join('\n'),
    { mode: 0o755 },
  );
  for (const launcher of ['torchrun', 'deepspeed', 'accelerate'])
    fs.writeFileSync(path.join(bin, launcher), `#!/bin/sh\necho "${launcher} $*"\n`, { mode: 0o755 });
  const script = stepScript({ jobId: '42', command, remoteDir: 'gpudev/proj', runId: 'abcdef0123', nodeCount });
  const result = spawnSync('sh', ['-s'], {
    input: script,
    encoding: 'utf8',
    cwd: path.join(dir, 'home'),
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: path.join(dir, 'home') },
  });
  const srun = fs.readFileSync(path.join(dir, 'srun.log'), 'utf8').trim();
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...result, srun };
}

describe('Run on Reservation across a multi-node job', () => {
  it('one task per node, every node told its rank, the first node and the port: torchrun', () => {
    const { stdout, status, srun } = runOnNodes(['torchrun', '--nproc_per_node', '2', 'train.py', '--lr', '1'], 2);
    assert.equal(status, 0);
    assert.match(
      srun,
      /^--jobid=42 --overlap --nodes=2 --ntasks=2 --ntasks-per-node=1 --kill-on-bad-exit=1 --label --job-name=gpudev-run-abcdef0123 --unbuffered sh -c /,
    );
    assert.equal(
      stdout,
      [0, 1]
        .map(
          (rank) =>
            `torchrun --nnodes=2 --node_rank=${rank} --master_addr=gpu07 --master_port=29542 --nproc_per_node 2 train.py --lr 1\n`,
        )
        .join(''),
    );
  });

  it('accelerate launch and deepspeed get their own option names; python -m torch.distributed.run is torchrun', () => {
    assert.equal(
      runOnNodes(['accelerate', 'launch', '--multi_gpu', 'train.py'], 2).stdout.split('\n')[1],
      'accelerate launch --num_machines=2 --machine_rank=1 --main_process_ip=gpu07 --main_process_port=29542 --multi_gpu train.py',
    );
    assert.equal(
      runOnNodes(['deepspeed', 'train.py', '--deepspeed', 'ds.json'], 3).stdout.split('\n')[2],
      'deepspeed --num_nodes=3 --node_rank=2 --master_addr=gpu07 --master_port=29542 --no_ssh train.py --deepspeed ds.json',
    );
    assert.deepEqual(multiNodeLaunch(['python3', '-m', 'torch.distributed.run', 'train.py'], 2), {
      insertAt: 3,
      words: [
        '--nnodes="$NNODES"',
        '--node_rank="$NODE_RANK"',
        '--master_addr="$MASTER_ADDR"',
        '--master_port="$MASTER_PORT"',
      ],
      launcher: 'torchrun',
    });
  });

  it('a plain command runs once per node with NODE_RANK and NNODES from the step, in the synced folder', () => {
    const { stdout } = runOnNodes(
      ['sh', '-c', 'echo "$NODE_RANK/$NNODES $MASTER_ADDR:$MASTER_PORT $(basename "$PWD") $1"', 'x', '$NODE_RANK'],
      2,
    );
    assert.equal(stdout, '0/2 gpu07:29542 proj $NODE_RANK\n1/2 gpu07:29542 proj $NODE_RANK\n');
  });

  it("the user's own launcher options are left as they are; --standalone is refused on several nodes", () => {
    const own = runOnNodes(['torchrun', '--nnodes=2', '--rdzv_endpoint', 'gpu07:1234', 'train.py'], 2);
    assert.equal(own.stdout.split('\n')[0], 'torchrun --nnodes=2 --rdzv_endpoint gpu07:1234 train.py');
    // An option of the script's, after it, is the script's business.
    assert.deepEqual(multiNodeLaunch(['torchrun', 'train.py', '--nnodes', '3'], 2), {
      insertAt: 1,
      words: [
        '--nnodes="$NNODES"',
        '--node_rank="$NODE_RANK"',
        '--master_addr="$MASTER_ADDR"',
        '--master_port="$MASTER_PORT"',
      ],
      launcher: 'torchrun',
    });
    assert.match(
      (multiNodeLaunch(['torchrun', '--standalone', 'train.py'], 2) as { problem: string }).problem,
      /--standalone keeps torchrun on one node, but the job has 2 nodes/,
    );
    assert.throws(() =>
      stepScript({
        jobId: '42',
        command: ['torchrun', '--standalone', 'x.py'],
        remoteDir: 'd',
        runId: 'abcdef0123',
        nodeCount: 2,
      }),
    );
  });

  it('a single-node job keeps the one task on its node', () => {
    const script = stepScript({
      jobId: '42',
      command: ['torchrun', 'train.py'],
      remoteDir: 'd',
      runId: 'abcdef0123',
      node: 'n1',
      nodeCount: 1,
    });
    assert.match(script, /srun --jobid=42 --overlap --nodes=1 --ntasks=1 --nodelist=n1 /);
    assert.doesNotMatch(script, /--nnodes/);
  });
});
