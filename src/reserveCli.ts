// `gpudev reserve plan|submit|list|cancel`: GPU reservations on a Slurm cluster, through its login node.
import { builtinCatalog } from './catalog/catalog';
import { parseArgs } from './core/cliArgs';
import { describeError, type GpuDevError } from './core/errors';
import { alignColumns } from './core/textTable';
import { formatSlurmTime, parseDuration } from './reserve/duration';
import { raceLosers, SlurmCluster } from './reserve/slurm/cluster';
import { describeMismatch, hardwareMismatch, recordedSummary } from './reserve/hardwareCheck';
import { localTime } from './reserve/slurm/clusterClock';
import { describeReason } from './reserve/slurm/reasons';
import type { ProbedStrategy } from './reserve/slurm/strategies';
import { LocalRunner, type Runner } from './hosts/runner';
import { quoteArgv } from './hosts/shellQuote';
import { writeAttachConfig } from './reserve/attach';
import { parseHostSpec } from './hosts/sshConfig';
import { createSshRunner } from './hosts/sshHosts';
import { RESERVE_RUN_USAGE, reserveRunCommand } from './reserveRunCli';

export const RESERVE_USAGE = `  gpudev reserve plan [--gpu h100,a100] [--count N] [--time 2h] [--partition P] [--nodes K] [--account A] [--login L] [--json]
                            every way to get the GPUs, probed with sbatch --test-only in one round trip, best first
  gpudev reserve submit … [--race K] [--attach job-sshd] [--scratch DIR]
                            the same options: submits the best strategy as a holder job tagged gpudev;
                            --race K submits the top K, waits for the first to run, cancels the others
  gpudev reserve list [--login L] [--json]   your gpudev jobs
  gpudev reserve cancel <job id>… [--login L]
  gpudev reserve ssh-config <job id> [--login L] [--attach job-sshd]
                            a Host entry gpudev-<login>-<job> in ~/.ssh/gpudev/config (ProxyJump through
                            the login node, the node's host key pinned); prints how to ssh there
                            (--login: the login node, an ssh alias or user@host[:port]; default this machine)
${RESERVE_RUN_USAGE}`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const VALUED = new Set([
  '--gpu',
  '--count',
  '--time',
  '--partition',
  '--nodes',
  '--account',
  '--login',
  '--race',
  '--attach',
  '--scratch',
]);

function strategyTable(strategies: readonly ProbedStrategy[]): string {
  const rows = strategies.map((s, i) => [
    String(i + 1),
    s.type,
    s.gpu ?? '',
    `${s.nodes} × ${s.perNode}`,
    s.partition,
    s.when === 'never' ? '—' : s.when === 'now' ? 'now' : localTime(s.start!),
    s.nodeList ?? '',
    s.cost.toFixed(1),
    s.reason ?? '',
  ]);
  return alignColumns(
    [['#', 'gres', 'gpu', 'nodes × gpus', 'partition', 'start', 'on', 'gpu-hours', 'why not'], ...rows],
    [1, 2, 4, 6, 8],
  ).join('\n');
}

function catalogNames(typed: string): readonly string[] {
  const found = builtinCatalog().lookup(typed);
  return found.ok ? [found.entry.key, found.entry.name, ...found.entry.aliases] : [];
}

async function loginRunner(spec: string | undefined): Promise<{ runner: Runner; close(): void } | GpuDevError> {
  if (!spec || spec === 'local') return { runner: new LocalRunner(), close: () => undefined };
  const refused = parseHostSpec(spec);
  if (typeof refused === 'string') return { message: refused };
  const runner = await createSshRunner({ name: spec, ssh: spec }, new LocalRunner());
  return 'message' in runner ? runner : { runner, close: () => runner.close() };
}

export async function reserveCommand(args: readonly string[], io: Io): Promise<number> {
  const fail = (message: string, code = 2) => {
    io.err(`gpudev reserve: ${message}\n`);
    return code;
  };
  const [verb, ...rest] = args;
  if (verb === 'run') return reserveRunCommand(rest, io);
  const parsed = parseArgs(rest, new Set(['--json']), VALUED);
  if (typeof parsed === 'string') return fail(parsed);
  const { positional, options } = parsed;
  const json = parsed.flags.has('--json');
  if (!verb || !['plan', 'submit', 'list', 'cancel', 'ssh-config'].includes(verb))
    return fail(`usage:\n${RESERVE_USAGE}`);
  const minutes = parseDuration(options.get('--time') ?? '1h');
  if (typeof minutes === 'string') return fail(minutes);
  const count = Number(options.get('--count') ?? 1);
  const nodes = options.has('--nodes') ? Number(options.get('--nodes')) : undefined;
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1))
    return fail(`--nodes must be a whole number of at least 1, not ${options.get('--nodes')}`);
  const attach = options.get('--attach') ?? 'proxyjump';
  if (attach !== 'proxyjump' && attach !== 'job-sshd') return fail(`--attach is proxyjump or job-sshd, not ${attach}`);
  const scratch = options.get('--scratch');
  const login = await loginRunner(options.get('--login'));
  if ('message' in login) return fail(describeError(login));
  const cluster = new SlurmCluster(options.get('--login') ?? 'local', login.runner);
  const done = (result: GpuDevError | undefined) => (result ? fail(describeError(result), 1) : 0);
  try {
    if (verb === 'list') {
      const jobs = await cluster.list();
      if ('message' in jobs) return done(jobs);
      if (json) io.out(`${JSON.stringify(jobs, null, 2)}\n`);
      else if (!jobs.length) io.out('no gpudev reservations\n');
      else
        io.out(
          `${alignColumns([['job', 'name', 'state', 'nodes', 'gpus', 'has', 'left', 'starts', 'reason'], ...jobs.map((j) => [j.jobId, j.name, j.state, j.nodes, j.gres, recordedSummary(j) ?? '', j.timeLeft, j.state === 'PENDING' && typeof j.startsAt === 'number' ? localTime(new Date(j.startsAt)) : '', describeReason(j.state, j.reason)])], [1, 2, 3, 4, 5, 7, 8]).join('\n')}\n`,
        );
      for (const job of jobs) {
        const mismatch = hardwareMismatch(job, catalogNames);
        if (mismatch) io.err(`warning: ${describeMismatch(mismatch)}\n`);
      }
      return 0;
    }
    if (verb === 'cancel')
      return positional.length ? done(await cluster.cancel(positional)) : fail('cancel needs job ids');
    if (verb === 'ssh-config') {
      const loginSpec = options.get('--login');
      if (!loginSpec || positional.length !== 1)
        return fail('usage: gpudev reserve ssh-config <job id> --login <login node>');
      const jobs = await cluster.list();
      if ('message' in jobs) return done(jobs);
      const job = jobs.find((j) => j.jobId === positional[0]);
      if (!job || job.state !== 'RUNNING')
        return fail(
          `job ${positional[0]} is ${job ? job.state : 'not one of your gpudev jobs'}: attach once it runs`,
          1,
        );
      const attached = await writeAttachConfig(
        {
          cluster: loginSpec.replace(/^.*@/, '').replace(/:\d+$/, ''),
          login: loginSpec,
          jobId: job.jobId,
          nodes: job.nodes,
          mode: attach,
        },
        login.runner,
        new LocalRunner(),
      );
      if ('message' in attached) return done(attached);
      io.out(`${attached.alias}\n`);
      io.err(
        `wrote ${attached.alias} (${attached.node}) to ${attached.configFile}; connect with: ${quoteArgv(attached.sshCommand)}\n`,
      );
      return 0;
    }
    const request = {
      types: (options.get('--gpu') ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
      count,
      minutes,
      nodes,
      ...(options.has('--partition') && { partition: options.get('--partition')! }),
      ...(options.has('--account') && { account: options.get('--account')! }),
    };
    const strategies = await cluster.plan(request, {}, catalogNames);
    if ('message' in strategies) return done(strategies);
    if (verb === 'plan') {
      io.out(
        json
          ? `${JSON.stringify(strategies, null, 2)}\n`
          : `${strategyTable(strategies)}\n\n${count} GPU(s) for ${formatSlurmTime(minutes)}; nothing was submitted.\n`,
      );
      return 0;
    }
    if (options.has('--race'))
      return await raceFromCli(cluster, strategies, Number(options.get('--race')), io, scratch, attach === 'job-sshd');
    const best = strategies.find((s) => s.when !== 'never');
    if (!best)
      return fail(
        `no strategy can start: ${strategies
          .map((s) => s.reason)
          .filter(Boolean)
          .join('; ')}`,
        1,
      );
    const jobId = await cluster.submit(
      best,
      `${best.type}x${best.nodes * best.perNode}`,
      scratch,
      attach === 'job-sshd',
    );
    if (typeof jobId !== 'string') return done(jobId);
    io.out(`${jobId}\n`);
    io.err(
      `submitted job ${jobId}: ${best.nodes} × ${best.perNode} ${best.type} in ${best.partition} for ${formatSlurmTime(minutes)}\n`,
    );
    return 0;
  } finally {
    login.close();
  }
}

/** Submits the race, waits for a winner (or 10 minutes), cancels the others; the winner's id on stdout. */
async function raceFromCli(
  cluster: SlurmCluster,
  strategies: readonly ProbedStrategy[],
  count: number,
  io: Io,
  scratch: string | undefined,
  jobSshd: boolean,
): Promise<number> {
  if (!Number.isInteger(count) || count < 2) return (io.err('gpudev reserve: --race needs a count of at least 2\n'), 2);
  const race = await cluster.race(strategies, 'cli', count, scratch, jobSshd);
  if ('message' in race) return (io.err(`gpudev reserve: ${describeError(race)}\n`), 1);
  io.err(
    `racing jobs ${race.jobIds.join(', ')}; waiting for the first to run (Ctrl-C leaves them racing: the extension or the next run cancels the losers)\n`,
  );
  for (
    const deadline = Date.now() + 600_000;
    Date.now() < deadline;
    await new Promise((resolve) => setTimeout(resolve, 1000))
  ) {
    const jobs = await cluster.list();
    if ('message' in jobs) continue;
    const winner = jobs.find(
      (j) => race.jobIds.includes(j.jobId) && j.state === 'RUNNING' && !raceLosers(jobs).includes(j.jobId),
    );
    if (!winner) continue;
    const losers = await cluster.reap(jobs);
    io.out(`${winner.jobId}\n`);
    io.err(`job ${winner.jobId} runs on ${winner.nodes}; cancelled ${losers.join(', ') || 'nothing'}\n`);
    return 0;
  }
  io.err('gpudev reserve: no racer started within 10 minutes; they are still queued (gpudev reserve list)\n');
  return 1;
}
