import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalRunner } from '../../src/hosts/runner';
import type { SshRunner } from '../../src/hosts/sshRunner';
import { runOnReservation, type StartedStep } from '../../src/reserve/runOnReservation';
import { SlurmCluster, type Reservation } from '../../src/reserve/slurm/cluster';
import { RSYNC_DELTA_BYTES, syncWorkspace, type SyncReport } from '../../src/reserve/sync/sync';
import { repoRoot } from '../unit/fixtures';
import { loginRunner, startSlurm } from './slurm';
import { startSshd } from './sshd';

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, limitMs = 30_000) {
  for (const started = Date.now(); Date.now() - started < limitMs;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`never saw ${what}`);
}

interface Ran {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  synced: SyncReport;
  /** When each stdout chunk came, in ms after the step started, and when it ended. */
  chunks: Array<{ at: number; text: string }>;
  endedAt: number;
}

describe('Run on a reservation (real Slurm through a real sshd)', function () {
  this.timeout(180_000);
  let login: SshRunner;
  let cluster: SlurmCluster;
  let jobId: string;
  let root: string;
  let remoteDir: string;
  const local = new LocalRunner();

  /** Runs argv on the reservation; `onStdout` may act on the step as output comes. */
  function run(command: string[], onStdout?: (text: string, step: StartedStep) => void): Promise<Ran> {
    return new Promise((resolve, reject) => {
      let synced: SyncReport | undefined;
      let step: StartedStep | undefined;
      let started = 0;
      const ran = { stdout: '', stderr: '', chunks: [] as Ran['chunks'] };
      void runOnReservation(
        { root, jobId, command, login, local, remoteDir, recordFile: `${root}.sync.json` },
        {
          onStdout: (text) => {
            ran.stdout += text;
            ran.chunks.push({ at: Date.now() - started, text });
            if (step) onStdout?.(text, step);
          },
          onStderr: (text) => (ran.stderr += text),
          onEnd: ({ exitCode, error }) =>
            error
              ? reject(new Error(error.message))
              : resolve({ ...ran, exitCode, synced: synced!, endedAt: Date.now() - started }),
        },
        (report) => {
          synced = report;
          started = Date.now();
        },
      ).then((started) => {
        if ('message' in started) reject(new Error(started.message));
        else step = started;
      });
    });
  }

  before(async () => {
    startSlurm();
    login = loginRunner(startSshd());
    cluster = new SlurmCluster('test', login);
    const probed = await cluster.plan({ types: [], count: 1, minutes: 20 });
    if ('message' in probed) throw new Error(probed.message);
    const submitted = await cluster.submit(probed[0]!, 'run-test');
    if (typeof submitted !== 'string') throw new Error(submitted.message);
    jobId = submitted;
    await until('the job RUNNING', async () =>
      ((await cluster.list()) as Reservation[]).find((j) => j.jobId === jobId && j.state === 'RUNNING'),
    );
    await until('its env file', () => (fs.existsSync(`${os.homedir()}/.gpudev/jobs/${jobId}.env`) ? true : undefined));
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-run-ws-'));
    remoteDir = `${root}-remote`;
    const write = (f: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), text);
    };
    write(
      'train.py',
      [
        'import os, sys, time',
        'cfg = open(sys.argv[sys.argv.index("--config") + 1]).read().strip() if "--config" in sys.argv else "-"',
        'print("job", os.environ.get("SLURM_JOB_ID"), os.environ.get("GPUDEV_JOB"), "step", os.environ.get("SLURM_STEP_ID"), flush=True)',
        'print("cwd", os.getcwd(), "cfg", cfg, "rank", os.environ.get("RANK", "-"), flush=True)',
        'print("to stderr", file=sys.stderr, flush=True)',
        'time.sleep(1.5)',
        'print("done", flush=True)',
        'sys.exit(int(os.environ.get("EXIT", "3")))',
      ].join('\n'),
    );
    write(
      'loop.py',
      [
        'import time',
        'print("started", flush=True)',
        'try:',
        '    time.sleep(60)',
        'except KeyboardInterrupt:',
        '    print("interrupted", flush=True)',
        '    raise SystemExit(130)',
      ].join('\n'),
    );
    for (let i = 0; i < 30; i++) write(`pkg/mod${i}.py`, `value = ${i}\n${'# padding\n'.repeat(200)}`);
    write('cfg.yaml', 'lr: 0.1\n');
    write('.gitignore', 'cfg.yaml\n');
    execFileSync('git', ['init', '-q', root]);
  });
  after(async () => {
    await cluster.cancel([jobId]);
    login.close();
    for (const dir of [root, remoteDir]) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${root}.sync.json`, { force: true });
  });

  it('streams the output back as it comes, inside the allocation, in the synced folder; the exit code is reported', async () => {
    const ran = await run(['python3', 'train.py']);
    assert.equal(ran.exitCode, 3);
    assert.match(ran.stdout, new RegExp(`^job ${jobId} ${jobId} step \\d+$`, 'm'), 'SLURM_JOB_ID and the env file');
    assert.match(ran.stdout, new RegExp(`^cwd ${remoteDir} cfg - rank -$`, 'm'));
    assert.match(ran.stderr, /^to stderr$/m);
    const first = ran.chunks[0];
    assert.ok(first && !first.text.includes('done'), JSON.stringify(ran.chunks));
    assert.ok(ran.endedAt - first.at > 1000, `the first line came ${ran.endedAt - first.at} ms before the end`);
    assert.equal(ran.synced.full, true);
    assert.ok(ran.synced.sent.includes('train.py') && !ran.synced.sent.includes('cfg.yaml'), 'git ignores cfg.yaml');
  });

  it('a file changed locally is the only one sent the second time (bytes counted)', async () => {
    const changed = `value = 'changed'\n${'# more padding\n'.repeat(300)}`;
    fs.writeFileSync(path.join(root, 'pkg/mod7.py'), changed);
    const ran = await run(['sh', '-c', 'head -n 1 pkg/mod7.py; exit 0']);
    assert.equal(ran.exitCode, 0);
    assert.equal(ran.stdout.trim(), "value = 'changed'");
    assert.deepEqual(
      [ran.synced.transport, ran.synced.full, ran.synced.sent, ran.synced.execs],
      ['tar', false, ['pkg/mod7.py'], 1],
      'a small change goes by tar in one exec (rsync would add its round trips: P6)',
    );
    assert.equal(ran.synced.fileBytes, changed.length);
    assert.ok(
      ran.synced.bytes <= 2 * changed.length,
      `${ran.synced.bytes} bytes sent for a ${changed.length}-byte file`,
    );
  });

  it('torchrun … train.py --config cfg.yaml syncs both files (cfg.yaml although git ignores it)', async () => {
    // Debian's torch 1.13 under Python 3.11 cannot parse the default --redirects/--tee "0" (IntFlag NONE): ask for stdout.
    const ran = await run(
      [
        'torchrun',
        '--standalone',
        '--nproc_per_node',
        '1',
        '--redirects',
        '1',
        '--tee',
        '1',
        'train.py',
        '--config',
        'cfg.yaml',
      ],
      undefined,
    );
    assert.deepEqual(ran.synced.sent, ['cfg.yaml']);
    assert.equal(fs.readFileSync(path.join(remoteDir, 'cfg.yaml'), 'utf8'), 'lr: 0.1\n');
    assert.match(
      ran.stdout,
      /^(\[default0\]:)?cwd \S+ cfg lr: 0.1 rank 0$/m,
      `torchrun ran train.py, which read the config: ${ran.stdout} ${ran.stderr}`,
    );
    await assert.rejects(
      run(['torchrun', '--standalone', 'trian.py']),
      /the script trian.py is not in the workspace: did you mean train.py\?/,
    );
  });

  it('Ctrl-C stops the step: SIGINT reaches the program, whose exit code is reported', async () => {
    let interrupted = false;
    const ran = await run(['python3', 'loop.py'], (text, step) => {
      if (interrupted || !text.includes('started')) return;
      interrupted = true;
      void step.signal('INT').then((error) => assert.equal(error, undefined));
    });
    assert.equal(ran.exitCode, 130);
    assert.match(ran.stdout, /^interrupted$/m);
    assert.ok(ran.endedAt < 30_000, 'it stopped well before its 60 s sleep');
    const steps = execFileSync('squeue', ['-h', '-s', '-j', jobId, '-o', '%j'], { encoding: 'utf8' });
    assert.doesNotMatch(steps, /gpudev-run-/, 'no step of ours is left');
  });

  it("gpudev reserve run: the output on its stdout, Ctrl-C (SIGINT to the CLI) interrupts the step, its exit code is the command's", async () => {
    // The login node is this machine (--login local): Slurm's own commands, no SSH.
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'out/src/cli.js'),
        'reserve',
        'run',
        jobId,
        '--login',
        'local',
        '--dir',
        remoteDir,
        '--',
        'python3',
        'loop.py',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (interrupted || !stdout.includes('started')) return;
      interrupted = true;
      child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.match(stdout, /^interrupted$/m);
    assert.match(stderr, /gpudev: synced \d+ of \d+ files \(\d+ bytes\) to /);
    assert.match(stderr, /gpudev: interrupting \(SIGINT; Ctrl-C again kills it\) the step/);
    assert.match(stderr, /gpudev: exit code 130/);
  });

  it('rsync missing on the login node or here: the tar sync instead, the report says why', async () => {
    const request = { root, remoteDir: `${remoteDir}-fallback`, login, local, recordFile: `${root}.fallback.json` };
    try {
      // A big file, so that changing it later wants rsync's delta transfer.
      const weights = path.join(root, 'weights.bin');
      fs.writeFileSync(weights, 'a'.repeat(RSYNC_DELTA_BYTES));
      const noRemote = await syncWorkspace({ ...request, rsync: { remote: 'rsync-not-on-this-login-node' } });
      assert.ok(!('message' in noRemote), JSON.stringify(noRemote));
      assert.deepEqual([noRemote.transport, noRemote.full], ['tar', true]);
      assert.match(noRemote.fallback ?? '', /has no rsync-not-on-this-login-node$/);
      fs.appendFileSync(path.join(root, 'pkg/mod3.py'), '# fallback\n');
      fs.writeFileSync(weights, `1${'a'.repeat(RSYNC_DELTA_BYTES - 1)}`);
      const noLocal = await syncWorkspace({ ...request, rsync: { local: 'rsync-not-here' } });
      assert.ok(!('message' in noLocal), JSON.stringify(noLocal));
      assert.deepEqual(
        [noLocal.transport, noLocal.fallback, noLocal.sent],
        ['tar', 'this machine has no rsync', ['pkg/mod3.py', 'weights.bin']],
      );
      fs.appendFileSync(path.join(root, 'pkg/mod3.py'), '# rsync\n');
      fs.writeFileSync(weights, `2${'a'.repeat(RSYNC_DELTA_BYTES - 1)}`);
      const both = await syncWorkspace(request);
      assert.ok(!('message' in both), JSON.stringify(both));
      assert.deepEqual([both.transport, both.full, both.sent], ['rsync', false, ['pkg/mod3.py', 'weights.bin']]);
      assert.ok(
        both.bytes < RSYNC_DELTA_BYTES / 10,
        `rsync sent ${both.bytes} bytes: the changed blocks, not the file`,
      );
      for (const file of ['pkg/mod3.py', 'weights.bin'])
        assert.equal(
          fs.readFileSync(path.join(`${remoteDir}-fallback`, file), 'utf8'),
          fs.readFileSync(path.join(root, file), 'utf8'),
        );
    } finally {
      fs.rmSync(`${remoteDir}-fallback`, { recursive: true, force: true });
      fs.rmSync(`${root}.fallback.json`, { force: true });
      fs.rmSync(path.join(root, 'weights.bin'), { force: true });
    }
  });
});
