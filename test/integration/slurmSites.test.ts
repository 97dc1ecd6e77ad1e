// Clusters unlike the test one, on the real Slurm: site GRES type names, a login node in another zone,
// login shells that are not sh, a partition that hands out other GPUs, MIG slices, polite polling.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import type { Runner } from '../../src/hosts/runner';
import { SshRunner } from '../../src/hosts/sshRunner';
import { quoteArg } from '../../src/hosts/shellQuote';
import { probeGpus } from '../../src/hosts/gpuProbe';
import { LocalRunner } from '../../src/hosts/runner';
import { allocationShell } from '../../src/reserve/attach';
import { reservationNodeRunner } from '../../src/reserve/nodeRunner';
import { hardwareMismatch } from '../../src/reserve/hardwareCheck';
import { SlurmCluster, type Reservation } from '../../src/reserve/slurm/cluster';
import { ReservationWatch, type Timers } from '../../src/reserve/watch';
import { repoRoot } from '../unit/fixtures';
import { loginRunner, openSshUser, startSlurm } from './slurm';
import { startSshd, stopSshd, type Sshd } from './sshd';

const catalog = (typed: string) => {
  const found = builtinCatalog().lookup(typed);
  return found.ok ? [found.entry.key, found.entry.name, ...found.entry.aliases] : [];
};

/** The login node's runner with an environment of its own for everything run there (`env K=V … argv`). */
function withEnv(runner: Runner, env: Record<string, string>): Runner {
  const prefix = ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  return { label: runner.label, run: (argv, options) => runner.run([...prefix, ...argv], options) };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 30_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < limitMs;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`never saw ${what}`);
}

// Other sessions' jobs may hold the test node's 2 CPUs for a while.
const running = (cluster: SlurmCluster, jobId: string, test: (j: Reservation) => boolean = () => true) =>
  until(
    `job ${jobId} running`,
    async () => {
      const jobs = await cluster.list();
      return 'message' in jobs ? undefined : jobs.find((j) => j.jobId === jobId && j.state === 'RUNNING' && test(j));
    },
    90_000,
  );

async function submitBest(cluster: SlurmCluster, types: string[], label: string, partition?: string): Promise<string> {
  const plan = await cluster.plan({ types, count: 1, minutes: 60, ...(partition && { partition }) }, {}, catalog);
  if ('message' in plan) return assert.fail(plan.message);
  const jobId = await cluster.submit(plan[0]!, label);
  return typeof jobId === 'string' ? jobId : assert.fail(jobId.message);
}

const scontrol = (jobId: string) => execFileSync('scontrol', ['show', 'job', jobId], { encoding: 'utf8' });

describe('Slurm sites unlike the test one (real slurmctld, slurmd, sshd)', function () {
  this.timeout(240_000);
  let sshd: Sshd;
  let login: SshRunner;
  let cluster: SlurmCluster;
  const submitted: string[] = [];
  before(() => {
    startSlurm();
    sshd = startSshd();
    login = loginRunner(sshd);
    cluster = new SlurmCluster('sites', login);
  });
  after(async () => {
    await cluster.cancel(submitted);
    login.close();
  });

  it('every typed name resolves to exactly its GRES type, never by substring; an unknown one lists what exists', async () => {
    for (const [typed, type, gpu] of [
      ['A10', 'a10', 'NVIDIA A10'],
      ['L4', 'l4', 'NVIDIA L4'],
      ['L40S', 'l40s', 'NVIDIA L40S'],
      ['rtx6000', 'rtx6000', ''],
      ['RTX 6000 Ada', 'rtx6000ada', 'NVIDIA RTX 6000 Ada Generation'],
      ['A100 80GB', 'a100_80', 'NVIDIA A100-SXM4-80GB'],
      ['a100', 'a100', 'NVIDIA A100-SXM4-40GB'],
      ['1g.10gb', 'a100_1g.10gb', '1g.10gb MIG slice of NVIDIA A100-SXM4-40GB'],
    ]) {
      const plan = await cluster.plan({ types: [typed!], count: 1, minutes: 30 }, {}, catalog);
      assert.ok(!('message' in plan), `${typed}: ${JSON.stringify(plan)}`);
      assert.deepEqual([...new Set(plan.map((s) => [s.type, s.gpu, s.when].join('|')))], [`${type}|${gpu}|now`], typed);
    }
    const refused = await cluster.plan({ types: ['A100 PCIe'], count: 1, minutes: 30 }, {}, catalog);
    assert.ok('message' in refused);
    assert.equal(refused.message, 'No GPU type "A100 PCIe" on this cluster');
    assert.match(
      refused.hint!,
      /it has a10 \(NVIDIA A10\), a100 \(NVIDIA A100-SXM4-40GB\), .*a100_80 \(NVIDIA A100-SXM4-80GB\), .*l4 \(NVIDIA L4\), l40s \(NVIDIA L40S\)/,
    );
  });

  it('an idle cluster\'s start is "now" with the login node in another zone than this machine, both ways', async () => {
    const before = process.env.TZ;
    try {
      for (const [here, there] of [
        ['Etc/GMT+11', 'UTC'], // this machine at UTC-11, the login node at UTC (the laptop)
        ['UTC', 'Etc/GMT-11'], // this machine at UTC, the login node at UTC+11
      ]) {
        process.env.TZ = here;
        const away = new SlurmCluster('tz', withEnv(login, { TZ: there! }));
        const plan = await away.plan({ types: ['l4'], count: 1, minutes: 30 }, {}, catalog);
        assert.ok(!('message' in plan), JSON.stringify(plan));
        assert.equal(plan[0]!.when, 'now', `here ${here}, there ${there}: ${plan[0]!.start?.toISOString()}`);
        assert.equal(plan[0]!.clusterZone, there === 'UTC' ? '+0000' : '+1100');
        assert.ok(Math.abs(plan[0]!.start!.getTime() - Date.now()) < 120_000, 'the start is read as the same instant');
      }
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('MIG slices ask for a slice of the node (--cpus-per-task, --mem), as scontrol shows the job', async () => {
    const plan = await cluster.plan({ types: ['a100_1g.10gb'], count: 1, minutes: 30 }, {}, catalog);
    assert.ok(!('message' in plan));
    assert.deepEqual([plan[0]!.cpusPerTask, plan[0]!.memMiB], [1, 1024]);
    const jobId = await cluster.submit(plan[0]!, 'mig');
    assert.ok(typeof jobId === 'string', JSON.stringify(jobId));
    submitted.push(jobId);
    const shown = scontrol(jobId);
    assert.match(shown, /MinMemoryNode=1G/);
    assert.match(shown, /TresPerNode=gres[:/]gpu:a100_1g\.10gb:1/);
    await cluster.cancel([jobId]);
  });

  it('a node whose GPUs are not the type asked for raises the warning; the retry excludes it (scontrol show job)', async () => {
    const scenario = path.join(sshd.dir, 'scenario');
    const saved = fs.readFileSync(scenario, 'utf8');
    fs.writeFileSync(scenario, 'default-l4-525.105.17\n'); // the node "has" an L4 where an A100 80GB was asked for
    try {
      // Partition spare also has a node that is always down: a job that excludes this one is accepted, and pends.
      const jobId = await submitBest(cluster, ['a100_80'], 'wrong-gpu', 'spare');
      submitted.push(jobId);
      const job = await running(cluster, jobId, (j) => !!j.gpus?.length);
      assert.deepEqual(
        job.gpus!.map((g) => [g.node, g.name, g.memoryMiB]),
        [[execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim(), 'NVIDIA L4', 23034]],
      );
      const mismatch = hardwareMismatch(job, catalog);
      assert.ok(mismatch, 'an L4 is not an A100 80GB');
      const retried = await cluster.retryExcluding(job, mismatch.nodes);
      assert.ok(typeof retried === 'string', JSON.stringify(retried));
      submitted.push(retried);
      assert.match(scontrol(retried), new RegExp(`ExcNodeList=${mismatch.nodes[0]}\\b`));
      assert.match(scontrol(retried), /TresPerNode=gres[:/]gpu:a100_80:1/);
      assert.match(scontrol(jobId), /JobState=(CANCELLED|COMPLETING)/, 'the wrong reservation is cancelled');
      await cluster.cancel([retried]);
    } finally {
      fs.writeFileSync(scenario, saved);
    }
  });

  it("a reservation's node as a host: through the login node to the job's sshd, its key pinned, its GPUs read", async () => {
    const plan = await cluster.plan({ types: ['l4'], count: 1, minutes: 30 }, {}, catalog);
    assert.ok(!('message' in plan));
    const jobId = await cluster.submit(plan[0]!, 'node-host', undefined, true);
    assert.ok(typeof jobId === 'string', JSON.stringify(jobId));
    submitted.push(jobId);
    const job = await running(cluster, jobId);
    const { dir, userConfig, knownHostsFile } = openSshUser(sshd);
    const node = await reservationNodeRunner(
      {
        cluster: 'sites',
        login: 'hpc-login',
        jobId,
        nodes: job.nodes,
        configFile: `${dir}/config`,
        knownHostsFile,
        userSshConfig: userConfig,
        mode: 'job-sshd',
      },
      login,
      new LocalRunner(),
      [knownHostsFile],
    );
    assert.ok(!('message' in node), JSON.stringify(node));
    try {
      const where = await node.runner.run(['sh', '-c', 'echo "$(hostname -s) $SSH_CONNECTION"']);
      assert.equal(where.exitCode, 0, where.stderr || where.failure?.message);
      assert.match(where.stdout, new RegExp(`^${job.nodes} `), 'a shell on the reserved node');
      // The job's sshd gives its sessions the system PATH: the fake nvidia-smi is on the node, by its path.
      const fake = path.join(repoRoot, 'lab/fake-gpu/bin');
      const gpus = await probeGpus({
        label: node.runner.label,
        run: (argv, options) =>
          node.runner.run(
            ['env', `PATH=${fake}:/usr/bin:/bin`, 'GPUDEV_FAKE_SMI_SCENARIO=default-l4-525.105.17', ...argv],
            options,
          ),
      });
      assert.equal(gpus.kind, 'gpus', JSON.stringify(gpus));
      assert.deepEqual(gpus.kind === 'gpus' && gpus.gpus.map((g) => g.name), ['NVIDIA L4']);
    } finally {
      node.runner.close();
      await cluster.cancel([jobId]);
    }
  });

  it('poll counts over 3 minutes with a RUNNING reservation stay within the setting: hidden, then shown (squeue wrapper on PATH)', async () => {
    const jobId = await submitBest(cluster, ['l4'], 'polled');
    submitted.push(jobId);
    await running(cluster, jobId);
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-squeue-'));
    const count = path.join(bin, 'count');
    const squeue = execFileSync('sh', ['-c', 'command -v squeue'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'squeue'), `#!/bin/sh\necho >> ${quoteArg(count)}\nexec ${squeue} "$@"\n`, {
      mode: 0o755,
    });
    const calls = () => (fs.existsSync(count) ? fs.readFileSync(count, 'utf8').split('\n').length - 1 : 0);
    const counted = new SlurmCluster('polled', withEnv(login, { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin` }));
    // The watch's own clock and timers run 10× faster than the wall: 3 of its minutes in 18 s; the squeue
    // calls counted are real ones on the login node.
    const SPEED = 10;
    const t0 = Date.now();
    const now = () => t0 + (Date.now() - t0) * SPEED;
    const timers: Timers = {
      setTimeout: (fn, ms) => setTimeout(fn, ms / SPEED),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    const minutes3 = () => new Promise((resolve) => setTimeout(resolve, (3 * 60_000) / SPEED));
    const ours = {
      list: async () => {
        const jobs = await counted.list();
        return 'message' in jobs ? jobs : jobs.filter((j) => j.jobId === jobId); // not other sessions' jobs
      },
      finalState: (id: string) => counted.finalState(id),
    };
    const watch = new ReservationWatch(ours, () => undefined, timers, now, 10);
    try {
      watch.setVisible(false);
      watch.start();
      await minutes3();
      const hidden = calls();
      assert.equal(hidden, 1, 'hidden, a 60-minute reservation, no warning due: once in 5 minutes');
      watch.setVisible(true);
      await minutes3();
      const shown = calls() - hidden;
      assert.ok(shown >= 8 && shown <= 19, `shown at 10 s: at most 1 + 180/10 calls in 3 minutes, saw ${shown}`);
    } finally {
      watch.stop();
      fs.rmSync(bin, { recursive: true, force: true });
      await cluster.cancel([jobId]);
    }
  });
});

const SHELL_USER = 'gpudevsh';

const shellsSshd = {
  dir: `${process.env.GPUDEV_SSHD_DIR ?? '/tmp/gpudev-sshd'}-shells`,
  port: Number(process.env.GPUDEV_SSHD_PORT ?? 2222) + 5,
};

describe('login shells that are not sh: tcsh, then fish (real sshd, real Slurm)', function () {
  this.timeout(180_000);
  let sshd: Sshd;
  before(function () {
    if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/tcsh') || !fs.existsSync('/usr/bin/fish')) {
      // A machine without root or the shells (apt-get install tcsh fish) cannot run this.
      this.skip();
    }
    startSlurm();
    // A user of its own, so no one else's login shell changes; a second sshd whose keys file it can read.
    spawnSync('useradd', ['-m', '-p', '*', '-s', '/usr/bin/tcsh', SHELL_USER]); // '*': no password, not locked
    // Not port + 1: that is the ProxyJump test's jump sshd (2223), which must not find this one there.
    sshd = startSshd(shellsSshd);
    fs.chmodSync(path.join(sshd.dir, 'authorized_keys'), 0o644);
  });
  after(() => {
    stopSshd(shellsSshd);
    spawnSync('scancel', ['-u', SHELL_USER]);
    spawnSync('userdel', ['-r', SHELL_USER]);
  });

  for (const shell of ['/usr/bin/tcsh', '/usr/bin/fish']) {
    it(`${path.basename(shell)}: plan, submit, list and a terminal inside the allocation all work`, async () => {
      execFileSync('usermod', ['-s', shell, SHELL_USER]);
      const runner = new SshRunner({
        label: 'login',
        host: '127.0.0.1',
        port: sshd.port,
        username: SHELL_USER,
        privateKey: sshd.clientKey,
        knownHosts: () => Promise.resolve([`[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`]),
      });
      const cluster = new SlurmCluster('shells', runner);
      try {
        const loginShell = await runner.run(['sh', '-c', 'echo "$SHELL"']);
        assert.equal(loginShell.stdout.trim(), shell, 'the commands go through that login shell');
        const jobId = await submitBest(cluster, ['l4'], `shell-${path.basename(shell)}`);
        const job = await running(cluster, jobId);
        assert.ok(job.clusterZone, 'the list script ran (its clock line came back)');
        const known = path.join(sshd.dir, 'known_hosts_shells');
        fs.writeFileSync(known, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
        const inside = spawnSync(
          'ssh',
          [
            ...['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${known}`, '-i', path.join(sshd.dir, 'client_key')],
            ...['-p', String(sshd.port), `${SHELL_USER}@127.0.0.1`],
            `sh -c ${quoteArg(allocationShell(jobId, job.nodes))}`,
          ],
          { input: 'echo "in:$SLURM_JOB_ID:$GPUDEV_JOB"; exit\n', encoding: 'utf8', timeout: 30_000 },
        );
        assert.match(inside.stdout, new RegExp(`^in:${jobId}:${jobId}$`, 'm'), inside.stderr);
        await cluster.cancel([jobId]);
      } finally {
        runner.close();
      }
    });
  }
});
