import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalRunner } from '../../src/hosts/runner';
import { runOnReservation } from '../../src/reserve/runOnReservation';
import { holderScript } from '../../src/reserve/slurm/holderScript';
import { repoRoot } from '../unit/fixtures';
import { startSlurm } from './slurm';

async function until<T>(what: string, probe: () => T | undefined, limitMs = 30_000) {
  for (const started = Date.now(); Date.now() - started < limitMs;) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`never saw ${what}`);
}

/** Two ranks meet at MASTER_PORT (on this host: both "nodes" are), as a distributed job's would. */
const RENDEZVOUS = [
  'import os, socket, sys, time',
  'rank, n = int(os.environ["NODE_RANK"]), int(os.environ["NNODES"])',
  'port = int(os.environ["MASTER_PORT"]) + 7',
  "print(f\"rank {rank} of {n} on {os.environ.get('SLURMD_NODENAME')} master {os.environ['MASTER_ADDR']}\", flush=True)",
  'if os.environ.get("FAIL_RANK") == str(rank): sys.exit(3)',
  'if os.environ.get("FAIL_RANK"): time.sleep(60)',
  'if rank == 0:',
  '    server = socket.create_server(("127.0.0.1", port)); server.settimeout(20)',
  '    peer, _ = server.accept(); print("rank 0 met", peer.recv(64).decode(), flush=True)',
  'else:',
  '    for _ in range(100):',
  '        try: socket.create_connection(("127.0.0.1", port)).sendall(f"rank {rank}".encode()); break',
  '        except OSError: time.sleep(0.1)',
].join('\n');

describe('Run on a two-node reservation (a second, two-node Slurm cluster on this machine)', function () {
  this.timeout(120_000);
  let conf: string;
  let login: LocalRunner;
  let jobId: string;
  let root: string;
  const local = new LocalRunner();

  function run(command: string[]) {
    return new Promise<{ stdout: string; exitCode: number | null; ms: number }>((resolve, reject) => {
      let stdout = '';
      const started = Date.now();
      void runOnReservation(
        {
          root,
          jobId,
          command,
          login,
          local,
          remoteDir: `${root}-remote`,
          recordFile: `${root}.sync.json`,
          nodeCount: 2,
        },
        {
          onStdout: (text) => (stdout += text),
          onStderr: (text) => (stdout += text),
          onEnd: ({ exitCode, error }) =>
            error ? reject(new Error(error.message)) : resolve({ stdout, exitCode, ms: Date.now() - started }),
        },
      ).then((step) => 'message' in step && reject(new Error(step.message)));
    });
  }

  before(async () => {
    startSlurm(); // Slurm installed and munged running.
    const out = execFileSync('bash', [path.join(repoRoot, 'lab/infra/slurm-two-nodes.sh')], { encoding: 'utf8' });
    conf = /^SLURM_CONF=(.+)$/m.exec(out)![1]!;
    login = new LocalRunner({ ...process.env, SLURM_CONF: conf });
    const env = { ...process.env, SLURM_CONF: conf };
    jobId = execFileSync(
      'sbatch',
      [
        '--parsable',
        '-N',
        '2',
        '--ntasks-per-node=1',
        '-t',
        '10',
        '-J',
        'gpudev-two-nodes',
        '--comment',
        'gpudev',
        '-o',
        '/dev/null',
      ],
      { input: holderScript(), encoding: 'utf8', env },
    ).trim();
    await until('its env file', () => (fs.existsSync(`${os.homedir()}/.gpudev/jobs/${jobId}.env`) ? true : undefined));
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-two-nodes-ws-'));
    fs.writeFileSync(path.join(root, 'rendezvous.py'), RENDEZVOUS);
  });
  after(() => {
    if (jobId) execFileSync('scancel', [jobId], { env: { ...process.env, SLURM_CONF: conf } });
    execFileSync('bash', [path.join(repoRoot, 'lab/infra/slurm-two-nodes.sh'), 'stop']);
    for (const dir of [root, `${root}-remote`]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (root) fs.rmSync(`${root}.sync.json`, { force: true });
  });

  it('the command runs once on each node at the same time, each with its rank, the node count and the first node', async () => {
    const ran = await run(['python3', 'rendezvous.py']);
    assert.equal(ran.exitCode, 0, ran.stdout);
    assert.match(ran.stdout, /^0: rank 0 of 2 on n1 master n1$/m);
    assert.match(ran.stdout, /^1: rank 1 of 2 on n2 master n1$/m);
    assert.match(ran.stdout, /^0: rank 0 met rank 1$/m, 'the two ranks ran at once and met at MASTER_PORT');
  });

  it('one node failing stops the others (--kill-on-bad-exit) and its exit code is reported', async () => {
    const ran = await run(['env', 'FAIL_RANK=1', 'python3', 'rendezvous.py']);
    assert.notEqual(ran.exitCode, 0);
    assert.ok(ran.ms < 30_000, `rank 0 was not left waiting for its 60 s (${ran.ms} ms)`);
  });

  it('torchrun --standalone is refused on two nodes, before anything runs', async () => {
    await assert.rejects(run(['torchrun', '--standalone', 'rendezvous.py']), /--standalone keeps torchrun on one node/);
  });
});
