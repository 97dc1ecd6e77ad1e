// A Slurm cluster reached through its login node's Runner: availability, planning (one round trip),
// holder jobs tagged `gpudev` (name and comment), listing and cancelling them.
import type { GpuDevError } from '../../core/errors';
import type { RunResult, Runner } from '../../hosts/runner';
import { SCRATCH } from '../clusters';
import { CLOCK_LINE, parseClock, slurmTime, withoutClock } from './clusterClock';
import { holderScript } from './holderScript';
import { parseRecordedGpus, RECORDED_GPUS_LINES, type RecordedGpu } from './recordedGpus';

export { holderScript } from './holderScript';
import { parseSinfo, SINFO_ARGV, type Availability } from './sinfo';
import {
  parseProbes,
  probeScript,
  rankStrategies,
  sbatchOptions,
  strategiesFor,
  type GpuAliases,
  type ProbedStrategy,
  type ReservationRequest,
  type Strategy,
} from './strategies';

export const TAG = 'gpudev';

export interface Reservation {
  readonly jobId: string;
  readonly name: string;
  readonly state: string;
  readonly nodes: string;
  readonly gres: string;
  readonly timeLeft: string;
  /** The job's whole time limit (squeue %l). */
  readonly timeLimit: string;
  readonly reason: string;
  readonly start: string;
  readonly partition: string;
  /** `start` read in the cluster's zone (epoch ms); null when Slurm gave none. */
  readonly startsAt?: number | null;
  /** The login node's UTC offset ("-1100"), when it printed one. */
  readonly clusterZone?: string;
  /** How many nodes the job has or asks for (squeue %D). */
  readonly nodeCount?: number;
  /** The GPUs the holder job found on its nodes (nvidia-smi), once it has run. */
  readonly gpus?: readonly RecordedGpu[];
}

const SQUEUE_FORMAT = '%i|%j|%T|%N|%b|%L|%r|%S|%P|%k|%l|%D';
const NAME_PREFIX = `${TAG}-`;

/**
 * One script for the watch: the clock, this user's jobs (`--me` needs Slurm 20.02; older ones get
 * `-u $USER`), and the GPUs the holder jobs recorded on their nodes.
 */
export const LIST_SCRIPT = [
  CLOCK_LINE,
  `squeue -h --me -o '${SQUEUE_FORMAT}' 2>/dev/null || squeue -h -u "$USER" -o '${SQUEUE_FORMAT}' || exit $?`,
  ...RECORDED_GPUS_LINES,
].join('\n');

/** squeue's lines of our jobs (tagged by comment, or by name where a submit plugin rewrote the comment). */
export function parseJobs(output: string): Reservation[] {
  const clock = parseClock(output);
  const recorded = parseRecordedGpus(output);
  return withoutClock(output)
    .split('\n')
    .map((line) => line.split('|'))
    .filter((f) => f.length >= 11 && (f[9] === TAG || f[1]!.startsWith(NAME_PREFIX)))
    .map(([jobId, name, state, nodes, gres, timeLeft, reason, start, partition, , timeLimit, nodeCount]) => ({
      jobId: jobId!,
      name: name!,
      state: state!,
      nodes: nodes!,
      gres: gres!,
      timeLeft: timeLeft!,
      reason: reason!,
      start: start!,
      partition: partition!,
      timeLimit: timeLimit!,
      startsAt: slurmTime(start!, clock)?.getTime() ?? null,
      ...(clock && { clusterZone: clock.zone }),
      ...(/^\d+$/.test(nodeCount ?? '') && { nodeCount: Number(nodeCount) }),
      ...(recorded.has(jobId!) && { gpus: recorded.get(jobId!)! }),
    }));
}

function failure(result: RunResult, what: string): GpuDevError | undefined {
  if (result.failure) return result.failure;
  if (result.notFound)
    return {
      message: `${what}: not found on the login node`,
      hint: 'is this a Slurm login node? (sinfo, sbatch and squeue must be on its PATH)',
    };
  if (result.exitCode !== 0)
    return {
      message: `${what} failed (exit ${result.exitCode ?? 'killed'}): ${(result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ') || 'no output'}`,
    };
  return undefined;
}

const RACER = /^gpudev-race-([a-z0-9]+)-(\d+)-/;

/** Jobs that lost their race: every other job of a race in which one runs (the best-ranked running one wins). */
export function raceLosers(jobs: readonly Reservation[]): string[] {
  const races = new Map<string, Array<{ job: Reservation; rank: number }>>();
  for (const job of jobs) {
    const match = RACER.exec(job.name);
    if (match) races.set(match[1]!, [...(races.get(match[1]!) ?? []), { job, rank: Number(match[2]) }]);
  }
  return [...races.values()].flatMap((entrants) => {
    const winner = entrants.filter((e) => e.job.state === 'RUNNING').sort((a, b) => a.rank - b.rank)[0];
    return winner ? entrants.filter((e) => e !== winner).map((e) => e.job.jobId) : [];
  });
}

export class SlurmCluster {
  constructor(
    readonly name: string,
    private readonly login: Runner,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async availability(): Promise<Availability | GpuDevError> {
    const result = await this.login.run(SINFO_ARGV);
    return failure(result, 'sinfo') ?? parseSinfo(result.stdout);
  }

  /** Validated strategies, each probed with sbatch --test-only in one round trip, ranked. Submits nothing. */
  async plan(
    request: ReservationRequest,
    weights: Readonly<Record<string, number>> = {},
    aliases?: GpuAliases,
  ): Promise<ProbedStrategy[] | GpuDevError> {
    const availability = await this.availability();
    if ('message' in availability) return availability;
    const strategies = strategiesFor(request, availability, aliases);
    if ('message' in strategies) return strategies;
    const result = await this.login.run(['sh', '-s'], { stdin: probeScript(strategies), timeoutMs: 60_000 });
    const failed = failure(result, 'sbatch --test-only');
    if (failed) return failed;
    return rankStrategies(
      parseProbes(result.stdout, strategies, this.now(), weights),
      strategies.map((s) => s.type),
    );
  }

  /** Submits a holder job for a strategy; its job id. `label` becomes part of the job name (gpudev-<label>). */
  async submit(strategy: Strategy, label: string, scratch?: string, jobSshd = false): Promise<string | GpuDevError> {
    if (scratch !== undefined && !SCRATCH.test(scratch))
      return { message: `scratch "${scratch}" may only hold letters, digits, / . _ - and $USER-like variables` };
    const name = `${TAG}-${label.replace(/[^\w.-]+/g, '-').slice(0, 40)}`;
    const argv = [
      'sbatch',
      '--parsable',
      '--job-name',
      name,
      '--comment',
      TAG,
      '--output',
      '/dev/null',
      ...sbatchOptions(strategy),
    ];
    const result = await this.login.run(argv, { stdin: holderScript(scratch, jobSshd) });
    const failed = failure(result, 'sbatch');
    if (failed) return failed;
    const jobId = /^(\d+)/.exec(result.stdout.trim())?.[1];
    return jobId ?? { message: `sbatch printed no job id: ${result.stdout.trim().slice(0, 200)}` };
  }

  /**
   * Race mode: the top `count` startable strategies submitted at once as `gpudev-race-<id>-<rank>-…`; the
   * first to run wins and `reap` cancels the others (also after a restart: the names say who raced).
   */
  async race(
    strategies: readonly ProbedStrategy[],
    label: string,
    count: number,
    scratch?: string,
    jobSshd = false,
  ): Promise<{ raceId: string; jobIds: string[] } | GpuDevError> {
    const runners = strategies.filter((s) => s.when !== 'never').slice(0, Math.max(1, count));
    if (!runners.length) return { message: 'no strategy can start' };
    const raceId = this.now().getTime().toString(36);
    const jobIds: string[] = [];
    for (const [rank, strategy] of runners.entries()) {
      const jobId = await this.submit(strategy, `race-${raceId}-${rank}-${label}`, scratch, jobSshd);
      if (typeof jobId !== 'string') {
        await this.cancel(jobIds);
        return jobId;
      }
      jobIds.push(jobId);
    }
    return { raceId, jobIds };
  }

  /** Cancels the losers of every race that has a running job (the best-ranked running one wins); their ids. */
  async reap(jobs: readonly Reservation[]): Promise<string[]> {
    const losers = raceLosers(jobs);
    if (losers.length) await this.cancel(losers);
    return losers;
  }

  /** This user's jobs tagged gpudev. */
  async list(): Promise<Reservation[] | GpuDevError> {
    const result = await this.login.run(['sh', '-s'], { stdin: LIST_SCRIPT });
    const failed = failure(result, 'squeue');
    if (failed) return failed;
    return parseJobs(result.stdout);
  }

  /** How a job that left the queue ended: scontrol while slurmctld remembers it, else sacct (which may be off). */
  async finalState(jobId: string): Promise<string> {
    if (!/^\d+(_\d+)?$/.test(jobId)) return 'unknown';
    const shown = await this.login.run(['scontrol', 'show', 'job', jobId]);
    const state = /JobState=(\w+)/.exec(shown.stdout)?.[1];
    if (shown.exitCode === 0 && state) return state;
    const accounted = await this.login.run(['sacct', '-j', jobId, '-n', '-X', '-o', 'State']);
    if (/accounting storage is disabled/i.test(accounted.stdout + accounted.stderr))
      return 'ended (this cluster keeps no accounting, so how is not known)';
    return accounted.exitCode === 0 ? accounted.stdout.trim().split(/\s+/)[0] || 'unknown' : 'unknown';
  }

  /** The job's batch script, as Slurm holds it. */
  async jobScript(jobId: string): Promise<string | GpuDevError> {
    if (!/^\d+(_\d+)?$/.test(jobId)) return { message: `"${jobId}" is not a Slurm job id` };
    const result = await this.login.run(['scontrol', 'write', 'batch_script', jobId, '-']);
    return failure(result, 'scontrol write batch_script') ?? result.stdout;
  }

  /**
   * A job again, as it was asked for (its own batch script, partition, GPUs, nodes and time limit), with
   * `exclude` left out (`--exclude`); the old one is cancelled once the new one is in. The new job's id.
   */
  async retryExcluding(job: Reservation, exclude: readonly string[]): Promise<string | GpuDevError> {
    const bad = exclude.find((node) => !/^[\w.-]+$/.test(node));
    if (bad !== undefined || !exclude.length) return { message: `"${bad ?? ''}" is not a node name` };
    const gres = /gpu(?::[^:,(]+)?:\d+/.exec(job.gres)?.[0];
    if (!gres) return { message: `job ${job.jobId} asks for no GPUs (${job.gres || 'no GRES'})` };
    const script = await this.jobScript(job.jobId);
    if (typeof script !== 'string') return script;
    const argv = [
      'sbatch',
      '--parsable',
      '--job-name',
      job.name,
      '--comment',
      TAG,
      '--output',
      '/dev/null',
      '--partition',
      job.partition,
      '--nodes',
      String(job.nodeCount ?? 1),
      '--gres',
      gres,
      '--time',
      job.timeLimit,
      '--exclude',
      exclude.join(','),
    ];
    const result = await this.login.run(argv, { stdin: script });
    const failed = failure(result, 'sbatch');
    if (failed) return failed;
    const jobId = /^(\d+)/.exec(result.stdout.trim())?.[1];
    if (!jobId) return { message: `sbatch printed no job id: ${result.stdout.trim().slice(0, 200)}` };
    return (await this.cancel([job.jobId])) ?? jobId;
  }

  async cancel(jobIds: readonly string[]): Promise<GpuDevError | undefined> {
    const bad = jobIds.find((id) => !/^\d+(_\d+)?$/.test(id));
    if (bad !== undefined) return { message: `"${bad}" is not a Slurm job id` };
    if (!jobIds.length) return undefined;
    return failure(await this.login.run(['scancel', ...jobIds]), 'scancel');
  }
}
