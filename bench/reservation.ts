// P2: planning 12 reservation strategies on a real Slurm through a real sshd: every probe in one SSH
// round trip (ours) against one `ssh login sbatch --test-only …` per probe, and against a single probe.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteArgv } from '../src/hosts/shellQuote';
import { LocalRunner } from '../src/hosts/runner';
import { writeAttachConfig } from '../src/reserve/attach';
import { SlurmCluster } from '../src/reserve/slurm/cluster';
import { parseProbes, probeScript, sbatchOptions, type Strategy } from '../src/reserve/slurm/strategies';
import { ReservationWatch } from '../src/reserve/watch';
import { loginRunner, openSshUser, startSlurm } from '../test/integration/slurm';
import { startSshd, stopSshd } from '../test/integration/sshd';

const ROUNDS = 7;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(rounds: number, work: () => Promise<unknown>): Promise<number> {
  await work(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

export async function reservationBenchmark(): Promise<void> {
  startSlurm();
  const sshd = startSshd();
  const knownHosts = `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`;
  const login = loginRunner(sshd);
  const strategies: Strategy[] = ['h100', 'a100'].flatMap((type) =>
    [1, 2].flatMap((perNode) =>
      (
        [
          ['gpu', 30],
          ['gpu', 120],
          ['short', 45],
        ] as const
      ).map(([partition, minutes]) => ({ type, nodes: 1, perNode, partition, minutes })),
    ),
  );
  const probeArgv = (s: Strategy) => ['sbatch', '--test-only', ...sbatchOptions(s), '--wrap', 'true'];
  try {
    const ours = await timed(ROUNDS, async () => {
      const result = await login.run(['sh', '-c', probeScript(strategies)], { timeoutMs: 60_000 });
      const probed = parseProbes(result.stdout, strategies, new Date());
      if (probed.some((p) => p.when === 'never'))
        throw new Error(`a probe failed: ${probed.find((p) => p.when === 'never')!.reason}`);
    });
    const single = await timed(ROUNDS, () => login.run(probeArgv(strategies[0]!)));
    const knownHostsFile = path.join(sshd.dir, 'bench_known_hosts');
    fs.writeFileSync(knownHostsFile, knownHosts);
    const ssh = (argv: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile(
          'ssh',
          [
            '-F',
            'none',
            '-o',
            'BatchMode=yes',
            '-o',
            `UserKnownHostsFile=${knownHostsFile}`,
            '-o',
            'StrictHostKeyChecking=yes',
            '-i',
            path.join(sshd.dir, 'client_key'),
            '-p',
            String(sshd.port),
            `${sshd.user}@127.0.0.1`,
            quoteArgv(argv),
          ],
          (error, _stdout, stderr) =>
            error && !/to start at/.test(stderr) ? reject(new Error(error.message)) : resolve(),
        ),
      );
    const naive = await timed(3, async () => {
      for (const s of strategies) await ssh(probeArgv(s));
    });
    console.log(
      `P2 plan ${strategies.length} reservation strategies (real slurmctld through a loopback sshd; medians)`,
    );
    console.log(
      `  ours : every probe in one script, one exec on the open connection ${ours.toFixed(1).padStart(8)} ms`,
    );
    console.log(
      `  naive: one \`ssh login sbatch --test-only …\` per probe          ${naive.toFixed(1).padStart(8)} ms`,
    );
    console.log(
      `  one  : a single sbatch --test-only on the open connection         ${single.toFixed(1).padStart(8)} ms`,
    );
    console.log(
      `  ratio: ${(naive / ours).toFixed(1)}x faster than a call per probe (goal ≥ 5x); ${(ours / single).toFixed(2)}x one probe (goal ≤ 1.5x)\n`,
    );
  } finally {
    login.close();
  }
}

/**
 * P4: from the watch seeing a job RUNNING to its ssh alias answering (`ssh -F our-file alias true`
 * through the login node to the node's sshd), for three jobs; the watch's first poll after a submit
 * comes within 1 s.
 */
export async function attachBenchmark(): Promise<void> {
  startSlurm();
  const login = startSshd();
  const nodeSshd = { dir: '/tmp/gpudev-node-sshd', port: 22, authorize: `${login.dir}/client_key.pub` };
  startSshd(nodeSshd);
  const { dir, userConfig, knownHostsFile } = openSshUser(login);
  const runner = loginRunner(login);
  const cluster = new SlurmCluster('hpc', runner);
  const overheads: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const plan = await cluster.plan({ types: ['h100'], count: 1, minutes: 10 });
      if ('message' in plan) throw new Error(plan.message);
      const jobId = await cluster.submit(plan[0]!, 'bench');
      if (typeof jobId !== 'string') throw new Error(jobId.message);
      const running = await new Promise<{ at: number; nodes: string }>((resolve) => {
        const watch = new ReservationWatch(cluster, () => {
          const job = watch.reservations.find((j) => j.jobId === jobId && j.state === 'RUNNING');
          if (!job) return;
          watch.stop();
          resolve({ at: performance.now(), nodes: job.nodes });
        });
        watch.start();
      });
      const attached = await writeAttachConfig(
        {
          cluster: 'hpc',
          login: 'hpc-login',
          jobId,
          nodes: running.nodes,
          configFile: path.join(dir, 'config'),
          knownHostsFile,
          userSshConfig: userConfig,
        },
        runner,
        new LocalRunner(),
      );
      if ('message' in attached) throw new Error(attached.message);
      await new Promise<void>((resolve, reject) =>
        execFile(attached.sshCommand[0]!, ['-o', 'BatchMode=yes', ...attached.sshCommand.slice(1), 'true'], (error) =>
          error ? reject(new Error(error.message)) : resolve(),
        ),
      );
      overheads.push(performance.now() - running.at);
      await cluster.cancel([jobId]);
    }
    console.log(
      'P4 attach: from the watch seeing the job RUNNING to `ssh -F our-file gpudev-hpc-<job> true` answering (ProxyJump via the login sshd)',
    );
    console.log(
      `  overhead: median ${median(overheads).toFixed(0)} ms, max ${Math.max(...overheads).toFixed(0)} ms over ${overheads.length} jobs (goal ≤ 2000 ms)\n`,
    );
  } finally {
    runner.close();
    stopSshd(nodeSshd);
  }
}
