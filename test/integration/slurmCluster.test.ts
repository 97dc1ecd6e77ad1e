import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { LocalRunner, type Runner } from '../../src/hosts/runner';
import { type SshRunner } from '../../src/hosts/sshRunner';
import { quoteArg } from '../../src/hosts/shellQuote';
import { allocationShell, writeAttachConfig, writeLoginEntry } from '../../src/reserve/attach';
import { SlurmCluster, type Reservation } from '../../src/reserve/slurm/cluster';
import { typeSummaries } from '../../src/reserve/slurm/sinfo';
import { ReservationWatch, type EndedJob } from '../../src/reserve/watch';
import { loginRunner, openSshUser, startSlurm } from './slurm';
import { startSshd, stopSshd, type Sshd } from './sshd';

/** The login node's runner, counting the commands (each one SSH exec channel) it runs. */
function counting(runner: Runner): Runner & { channels: number } {
  const counted = {
    label: runner.label,
    channels: 0,
    run: (argv: readonly string[], options?: Parameters<Runner['run']>[1]) => {
      counted.channels++;
      return runner.run(argv, options);
    },
  };
  return counted;
}

/** Plans a request and submits its best strategy as a holder job; its id (the test fails when either step does). */
async function holderJob(
  cluster: SlurmCluster,
  request: Parameters<SlurmCluster['plan']>[0],
  label: string,
  scratch?: string,
  jobSshd?: boolean,
): Promise<string> {
  const probed = await cluster.plan(request);
  if ('message' in probed) return assert.fail(probed.message);
  const jobId = await cluster.submit(probed[0]!, label, scratch, jobSshd);
  if (typeof jobId !== 'string') return assert.fail(jobId.message);
  return jobId;
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  limitMs = 30_000,
): Promise<T> {
  for (const started = Date.now(); Date.now() - started < limitMs;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`never saw ${what}`);
}

describe('Slurm through a login node over SSH (real slurmctld, slurmd, munge, sshd)', function () {
  this.timeout(120_000);
  let sshd: Sshd;
  let login: SshRunner;
  let cluster: SlurmCluster;
  const submitted: string[] = [];
  before(() => {
    startSlurm();
    sshd = startSshd();
    login = loginRunner(sshd);
    cluster = new SlurmCluster('test', login);
  });
  after(async () => {
    await cluster.cancel(submitted);
    login.close();
  });

  it('availability per GPU type, partitions with their time limits', async () => {
    const availability = await cluster.availability();
    assert.ok(!('message' in availability), JSON.stringify(availability));
    assert.deepEqual(
      typeSummaries(availability, 'gpu').map((s) => [s.type, s.total, s.perNode]),
      [
        ['a10', 1, 1],
        ['a100', 2, 2],
        ['a100_1g.10gb', 2, 2],
        ['a100_80', 1, 1],
        ['h100', 4, 4],
        ['l4', 2, 2],
        ['l40s', 1, 1],
        ['rtx6000', 1, 1],
        ['rtx6000ada', 1, 1],
      ],
    );
    assert.deepEqual(availability.partitions.map((p) => [p.name, p.isDefault, p.maxMinutes]).sort(), [
      ['gpu', true, 2880],
      ['short', false, 60],
      ['spare', false, 60],
    ]);
  });

  it('probes every strategy of a request in one SSH exec, ranked', async () => {
    const counted = counting(login);
    const probed = await new SlurmCluster('test', counted).plan({ types: ['H100', 'a100'], count: 2, minutes: 30 });
    assert.ok(!('message' in probed), JSON.stringify(probed));
    assert.equal(counted.channels, 2, 'one sinfo, then one script with every sbatch --test-only');
    assert.deepEqual(
      probed.map((p) => [p.type, p.nodes, p.perNode, p.when]),
      [
        ['h100', 1, 2, 'now'],
        ['a100', 1, 2, 'now'],
      ],
    );
    assert.ok(probed.every((p) => p.nodeList && p.start));
  });

  it('refuses what cannot be, before submitting anything', async () => {
    const refused = async (request: Parameters<SlurmCluster['plan']>[0]) => {
      const result = await cluster.plan(request);
      assert.ok('message' in result, JSON.stringify(result));
      return `${result.message}${result.hint ? `: ${result.hint}` : ''}`;
    };
    assert.match(
      await refused({ types: ['h10'], count: 1, minutes: 30 }),
      /No GPU type "h10" on this cluster: did you mean a10, h100, a100\? it has a10, a100, /,
    );
    assert.match(
      await refused({ types: ['h100'], count: 5, minutes: 30 }),
      /No way to place 5 GPUs in gpu: they need 1 node × 5 or 5 nodes × 1, but h100 has 4 per node on 1 node/,
    );
    assert.match(
      await refused({ types: ['a100'], count: 1, minutes: 120, partition: 'short' }),
      /02:00:00 is over the short partition's limit of 01:00:00/,
    );
    assert.match(
      await refused({ types: [], count: 1, minutes: 30, partition: 'gpu;touch /tmp/x' }),
      /No partition "gpu;touch \/tmp\/x"/,
    );
  });

  it('submits a holder job tagged gpudev that runs until cancelled', async () => {
    const jobId = await holderJob(cluster, { types: ['a100'], count: 1, minutes: 20 }, 'unit test');
    submitted.push(jobId);
    const running = await until('the job RUNNING', async () => {
      const jobs = await cluster.list();
      assert.ok(Array.isArray(jobs), JSON.stringify(jobs));
      return jobs.find((j: Reservation) => j.jobId === jobId && j.state === 'RUNNING');
    });
    assert.equal(running.name, 'gpudev-unit-test');
    const script = await cluster.jobScript(jobId);
    assert.match(script as string, /^#!\/bin\/sh\n# gpudev holder job/, 'Show Job Script: the script Slurm holds');
    assert.match(running.gres, /gpu:a100:1/);
    assert.equal(await cluster.cancel([jobId]), undefined);
    await until('the job gone', async () =>
      ((await cluster.list()) as Reservation[]).some((j) => j.jobId === jobId && j.state !== 'CANCELLED')
        ? undefined
        : true,
    );
  });

  it('hostile names and accounts never reach a shell unquoted (checked on what Slurm received)', async () => {
    const marker = '/tmp/gpudev-slurm-pwned';
    fs.rmSync(marker, { force: true });
    const account = `$(touch ${marker})'"; touch ${marker} \`touch ${marker}\``;
    const jobId = await holderJob(
      cluster,
      { types: ['h100'], count: 1, minutes: 10, account },
      `x'; touch ${marker}; $(reboot)\n"`,
    );
    submitted.push(jobId);
    const [name, received] = execFileSync('squeue', ['-h', '-j', jobId, '-o', '%j|%a'], { encoding: 'utf8' })
      .trim()
      .split('|');
    assert.equal(name, 'gpudev-x-touch-tmp-gpudev-slurm-pwned-reboot-');
    assert.equal(received, account, 'the account reached Slurm exactly as typed');
    assert.ok(!fs.existsSync(marker), 'nothing ran');
    await cluster.cancel([jobId]);
    assert.deepEqual(await cluster.cancel(['12; rm -rf /']), { message: '"12; rm -rf /" is not a Slurm job id' });
  });
});

describe('watching reservations on a real Slurm', function () {
  this.timeout(120_000);
  it('a watch keeps its jobs while slurmctld restarts, and reports how a vanished job ended', async () => {
    startSlurm();
    const sshd = startSshd();
    const login = loginRunner(sshd);
    const cluster = new SlurmCluster('test', login);
    const jobId = await holderJob(cluster, { types: ['h100'], count: 1, minutes: 15 }, 'watched');
    const ended: EndedJob[] = [];
    let sawError = false;
    const watch = new ReservationWatch(
      cluster,
      (e) => {
        ended.push(...e);
        if (watch.error) sawError = true;
      },
      undefined,
      undefined,
      10,
    );
    try {
      watch.start();
      watch.refresh(); // as after a submit: every 5 s while it settles
      await until('the job RUNNING in the watch', () =>
        watch.reservations.some((j) => j.jobId === jobId && j.state === 'RUNNING') ? true : undefined,
      );
      execFileSync('bash', [
        '-c',
        'pid=$(cat /tmp/gpudev-slurm/slurmctld.pid); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done',
      ]);
      watch.refresh();
      await until('the watch to notice slurmctld is away', () => (sawError ? true : undefined));
      assert.ok(
        watch.reservations.some((j) => j.jobId === jobId),
        'the job is kept while slurmctld is away',
      );
      startSlurm();
      watch.refresh();
      await until('the watch back', () =>
        watch.error === undefined && watch.reservations.some((j) => j.jobId === jobId && j.state === 'RUNNING')
          ? true
          : undefined,
      );
      assert.deepEqual(ended, [], 'nothing was reported ended across the restart');
      await cluster.cancel([jobId]);
      watch.refresh();
      await until('the job reported ended', () => (ended.length ? true : undefined));
      assert.deepEqual(ended, [{ jobId, name: 'gpudev-watched', state: 'CANCELLED' }]);
      assert.equal(
        await cluster.finalState('999999'),
        'ended (this cluster keeps no accounting, so how is not known)',
        'sacct, when scontrol no longer knows the job',
      );
    } finally {
      watch.stop();
      await cluster.cancel([jobId]);
      login.close();
    }
  });
});

describe('attaching to a reserved node (OpenSSH through the login node)', function () {
  this.timeout(120_000);
  it('writes a Host entry that jumps through the login node, the node key pinned; `ssh -F our-file alias hostname` answers', async () => {
    startSlurm();
    const login = startSshd();
    // The compute node's sshd (port 22 of the node's address), accepting the user's key as a cluster's shared home would.
    const node = startSshd({ dir: '/tmp/gpudev-node-sshd', port: 22, authorize: `${login.dir}/client_key.pub` });
    const { dir, userConfig, knownHostsFile } = openSshUser(login);
    const runner = loginRunner(login);
    const cluster = new SlurmCluster('hpc', runner);
    const jobId = await holderJob(cluster, { types: ['a100'], count: 1, minutes: 15 }, 'attach');
    try {
      const job = await until('the job RUNNING', async () =>
        ((await cluster.list()) as Reservation[]).find((j) => j.jobId === jobId && j.state === 'RUNNING'),
      );
      const attached = await writeAttachConfig(
        {
          cluster: 'hpc',
          login: 'hpc-login',
          jobId: job.jobId,
          nodes: job.nodes,
          configFile: `${dir}/config`,
          knownHostsFile,
          userSshConfig: userConfig,
        },
        runner,
        new LocalRunner(),
      );
      assert.ok(!('message' in attached), JSON.stringify(attached));
      assert.equal(attached.alias, `gpudev-hpc-${jobId}`);
      const written = fs.readFileSync(`${dir}/config`, 'utf8');
      assert.match(
        written,
        new RegExp(`Host gpudev-hpc-${jobId}\\n  HostName ${job.nodes}\\n  ProxyJump gpudev-hpc-login`),
      );
      assert.match(written, /StrictHostKeyChecking yes/);
      assert.doesNotMatch(written, /StrictHostKeyChecking no/);
      assert.match(
        fs.readFileSync(knownHostsFile, 'utf8'),
        new RegExp(`^gpudev-hpc-${job.nodes} ${node.hostKeyLine.replace(/[+/]/g, '\\$&')}$`, 'm'),
        'the node key, as the login node reads it',
      );
      const hostname = execFileSync('ssh', ['-o', 'BatchMode=yes', ...attached.sshCommand.slice(1), 'hostname'], {
        encoding: 'utf8',
        timeout: 30_000,
      }).trim();
      assert.equal(hostname, execFileSync('hostname', { encoding: 'utf8' }).trim());
      const again = await writeAttachConfig(
        {
          cluster: 'hpc',
          login: 'hpc-login',
          jobId: job.jobId,
          nodes: job.nodes,
          configFile: `${dir}/config`,
          knownHostsFile,
          userSshConfig: userConfig,
        },
        runner,
        new LocalRunner(),
      );
      assert.ok(!('message' in again));
      assert.equal(fs.readFileSync(`${dir}/config`, 'utf8'), written, 'writing again changes nothing');
    } finally {
      await cluster.cancel([jobId]);
      runner.close();
      stopSshd({ dir: '/tmp/gpudev-node-sshd', port: 22 });
    }
  });
});

describe("a reservation's terminal inside its allocation (srun --jobid --overlap)", function () {
  this.timeout(120_000);
  it("through the login node's Host entry (attach: srun), the shell has the job's SLURM_JOB_ID and env file", async () => {
    startSlurm();
    const login = startSshd();
    const { dir, userConfig, knownHostsFile } = openSshUser(login);
    const runner = loginRunner(login);
    const cluster = new SlurmCluster('hpc', runner);
    const jobId = await holderJob(cluster, { types: ['l4'], count: 1, minutes: 10 }, 'terminal');
    try {
      const job = await until('the job RUNNING', async () =>
        ((await cluster.list()) as Reservation[]).find((j) => j.jobId === jobId && j.state === 'RUNNING'),
      );
      await until('the env file', () =>
        fs.existsSync(`${os.homedir()}/.gpudev/jobs/${jobId}.env`) ? true : undefined,
      );
      const entry = await writeLoginEntry(
        { cluster: 'hpc', login: 'hpc-login', configFile: `${dir}/config`, knownHostsFile, userSshConfig: userConfig },
        new LocalRunner(),
      );
      assert.ok(!('message' in entry), JSON.stringify(entry));
      assert.equal(entry.alias, 'gpudev-hpc-login');
      const shell = (id: string) =>
        spawnSync(
          'ssh',
          [
            '-o',
            'BatchMode=yes',
            '-F',
            entry.configFile,
            entry.alias,
            `sh -c ${quoteArg(allocationShell(id, job.nodes))}`,
          ],
          { input: 'echo "in:$SLURM_JOB_ID:$GPUDEV_JOB:$(hostname -s)"; exit\n', encoding: 'utf8', timeout: 30_000 },
        );
      const inside = shell(jobId);
      assert.match(inside.stdout, new RegExp(`^in:${jobId}:${jobId}:${job.nodes}$`, 'm'), inside.stderr);
      const outside = shell('999999');
      assert.match(outside.stderr, /gpudev: this shell on \S+ is NOT inside job 999999's allocation/);
      assert.match(outside.stdout, /^in:::/m, 'a plain shell, saying so, when srun cannot start a step');
    } finally {
      await cluster.cancel([jobId]);
      runner.close();
    }
  });
});

describe('race mode on a real Slurm', function () {
  this.timeout(120_000);
  it('submits the top 3 strategies; once one runs the others are cancelled, by the next watch too (a restart mid-race)', async () => {
    startSlurm();
    const sshd = startSshd();
    const login = loginRunner(sshd);
    const cluster = new SlurmCluster('test', login);
    try {
      const probed = await cluster.plan({ types: ['l4', 'a100', 'h100'], count: 1, minutes: 10 });
      assert.ok(!('message' in probed));
      const race = await cluster.race(probed, 'raced', 3);
      assert.ok(!('message' in race), JSON.stringify(race));
      assert.equal(race.jobIds.length, 3);
      // No watch ran while the jobs started, as when VS Code was closed mid-race; the next one reaps.
      const mine = async () =>
        ((await cluster.list()) as Reservation[]).filter(
          (j) => race.jobIds.includes(j.jobId) && j.state !== 'CANCELLED' && j.state !== 'COMPLETING',
        );
      await until('a racer RUNNING', async () =>
        (await mine()).some((j) => j.state === 'RUNNING') ? true : undefined,
      );
      const watch = new ReservationWatch(cluster, () => undefined);
      watch.start();
      const left = await until('exactly one racer left', async () => {
        const jobs = await mine();
        return jobs.length === 1 ? jobs : undefined;
      });
      watch.stop();
      assert.equal(left[0]!.state, 'RUNNING');
      assert.equal(left[0]!.jobId, race.jobIds[0], 'the best-ranked strategy that runs wins');
      await cluster.cancel(race.jobIds);
    } finally {
      login.close();
    }
  });
});

describe("the holder job's environment", function () {
  this.timeout(60_000);
  it('writes ~/.gpudev/jobs/<job>.env: rendezvous, threads, node rank where sourced, caches on scratch', async () => {
    startSlurm();
    const sshd = startSshd();
    const login = loginRunner(sshd);
    const cluster = new SlurmCluster('test', login);
    const probed = await cluster.plan({ types: ['l4'], count: 1, minutes: 10 });
    assert.ok(!('message' in probed));
    assert.match(
      ((await cluster.submit(probed[0]!, 'env', "/scratch/it's")) as { message: string }).message,
      /scratch .* may only hold/,
    );
    const jobId = await cluster.submit(probed[0]!, 'env', '/tmp/gpudev-scratch/$USER');
    assert.ok(typeof jobId === 'string', 'submitted');
    try {
      const file = `${os.homedir()}/.gpudev/jobs/${jobId}.env`;
      await until('the env file', () =>
        fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('HF_HOME') ? true : undefined,
      );
      const sourced = execFileSync(
        'bash',
        [
          '-c',
          `. ${file}; echo "$GPUDEV_JOB|$MASTER_ADDR|$MASTER_PORT|$NODE_RANK|$NNODES|$OMP_NUM_THREADS|$HF_HOME|$VLLM_CACHE_DIR|$TRITON_CACHE_DIR|$TOKENIZERS_PARALLELISM"`,
        ],
        { encoding: 'utf8', env: { ...process.env, USER: os.userInfo().username } },
      ).trim();
      const host = execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim();
      assert.equal(
        sourced,
        `${jobId}|${host}|${29500 + (Number(jobId) % 1000)}|0|1|1|/tmp/gpudev-scratch/${os.userInfo().username}/hf` +
          `|/tmp/gpudev-scratch/${os.userInfo().username}/vllm|/tmp/gpudev-scratch/${os.userInfo().username}/triton|false`,
      );
      await cluster.cancel([jobId]);
      await until('the env file gone with the job', () => (fs.existsSync(file) ? undefined : true));
    } finally {
      await cluster.cancel([jobId]);
      login.close();
    }
  });
});

describe('attach: job-sshd (an sshd started by the holder job)', function () {
  this.timeout(120_000);
  it('the job starts its sshd on a free port with its own host key; the Host entry reaches it through the login node', async () => {
    startSlurm();
    const login = startSshd();
    const { dir, userConfig, knownHostsFile } = openSshUser(login);
    const runner = loginRunner(login);
    const cluster = new SlurmCluster('hpc', runner);
    const jobId = await holderJob(cluster, { types: ['l4'], count: 1, minutes: 10 }, 'job-sshd', undefined, true);
    try {
      const job = await until('the job RUNNING', async () =>
        ((await cluster.list()) as Reservation[]).find((j) => j.jobId === jobId && j.state === 'RUNNING'),
      );
      const attached = await writeAttachConfig(
        {
          cluster: 'hpc',
          login: 'hpc-login',
          jobId: job.jobId,
          nodes: job.nodes,
          configFile: `${dir}/config`,
          knownHostsFile,
          userSshConfig: userConfig,
          mode: 'job-sshd',
        },
        runner,
        new LocalRunner(),
      );
      assert.ok(!('message' in attached), JSON.stringify(attached));
      const written = fs.readFileSync(`${dir}/config`, 'utf8');
      const port = Number(
        /Host gpudev-hpc-\d+\n {2}HostName \S+\n {2}Port (\d+)\n {2}ProxyJump gpudev-hpc-login/.exec(written)?.[1],
      );
      assert.ok(port > 1024 && port !== 22, written);
      assert.match(
        fs.readFileSync(knownHostsFile, 'utf8'),
        new RegExp(`^gpudev-hpc-${jobId} ssh-ed25519 \\S+$`, 'm'),
        'the key the job made, pinned',
      );
      const hostname = execFileSync('ssh', ['-o', 'BatchMode=yes', ...attached.sshCommand.slice(1), 'hostname'], {
        encoding: 'utf8',
        timeout: 30_000,
      }).trim();
      assert.equal(hostname, execFileSync('hostname', { encoding: 'utf8' }).trim());
    } finally {
      await cluster.cancel([jobId]);
      runner.close();
    }
  });
});
