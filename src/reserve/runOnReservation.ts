// Run on a reservation: the workspace synced to the cluster, then the command run as a step inside the
// holder job's allocation (`srun --jobid=<job> --overlap`), the job's env file sourced, in the synced
// folder; its output streamed back as it comes. Every remote script goes on stdin to `sh -s`.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { quoteArgv } from '../hosts/shellQuote';
import { launchFiles } from './launchers';
import { multiNodeLaunch, multiNodeSrun, multiNodeTask } from './multiNode';
import { isInside } from './sync/fileList';
import { checkRemoteDir, defaultRemoteDir, recordFileFor, syncWorkspace, type SyncReport } from './sync/sync';

export interface StepRequest {
  readonly jobId: string;
  readonly command: readonly string[];
  /** The synced folder: the step's working directory. */
  readonly remoteDir: string;
  /** Run on this node of the job (default: Slurm's choice, its first). */
  readonly node?: string;
  /** Names the step `gpudev-run-<runId>`, so that it can be found to interrupt. */
  readonly runId: string;
  /** A terminal shows the output: programs are told colours are welcome. */
  readonly colour?: boolean;
  /** The job's nodes: past 1 the command runs once on each (see multiNode.ts), `node` then ignored. */
  readonly nodeCount?: number;
}

const JOB_ID = /^\d+(_\d+)?$/;
const RUN_ID = /^[0-9a-f]{8,32}$/;

export const stepName = (runId: string) => `gpudev-run-${runId}`;

/** Output as it comes, then how it ended: the command's exit code, or why it did not run. */
export interface RunHandlers {
  onStdout(text: string): void;
  onStderr(text: string): void;
  onEnd(end: { exitCode: number | null; error?: GpuDevError }): void;
}

/** The script `sh -s` runs on the login node for one step. */
export function stepScript(request: StepRequest): string {
  if (!JOB_ID.test(request.jobId)) throw new Error(`not a Slurm job id: ${request.jobId}`);
  if (!RUN_ID.test(request.runId)) throw new Error(`not a run id: ${request.runId}`);
  const nodes = request.nodeCount ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`not a node count: ${nodes}`);
  const launch = nodes > 1 ? multiNodeLaunch(request.command, nodes) : undefined;
  if (launch && 'problem' in launch) throw new Error(launch.problem);
  const srun = [
    'srun',
    `--jobid=${request.jobId}`,
    '--overlap',
    ...(launch
      ? multiNodeSrun(nodes)
      : [
          '--nodes=1',
          '--ntasks=1',
          ...(request.node && /^[\w.-]+$/.test(request.node) ? [`--nodelist=${request.node}`] : []),
        ]),
    `--job-name=${stepName(request.runId)}`,
    '--unbuffered',
  ];
  const inStep = launch
    ? ['sh', '-c', multiNodeTask(launch.words), 'gpudev-run']
    : ['sh', '-c', 'f=$1; shift; [ -r "$f" ] && . "$f"; exec "$@"', 'gpudev-run'];
  const taskArgs = launch ? ` "$PWD" ${launch.insertAt}` : '';
  const colours = request.colour ? ' FORCE_COLOR=1 CLICOLOR_FORCE=1 PY_COLORS=1 TERM=xterm-256color' : '';
  return [
    `d="${request.remoteDir}"`,
    `cd "$d" || { echo "gpudev: there is no folder $d on $(hostname)" >&2; exit 1; }`,
    `export PYTHONUNBUFFERED=1${colours}`,
    `exec ${quoteArgv(srun)} ${quoteArgv(inStep)} "$HOME/.gpudev/jobs/${request.jobId}.env"${taskArgs} ${quoteArgv(request.command)} </dev/null`,
    '',
  ].join('\n');
}

/** Sends a signal to the run's step, found by its name (it may still be starting: a few tries). */
export function signalScript(jobId: string, runId: string, signal: 'INT' | 'KILL'): string {
  if (!JOB_ID.test(jobId) || !RUN_ID.test(runId)) throw new Error('not a job and run id');
  return [
    'for i in 1 2 3 4 5 6 7 8 9 10; do',
    `  s=$(squeue -h -s -j ${jobId} -o '%i %j' | while read -r id name; do [ "$name" = ${stepName(runId)} ] && echo "$id"; done)`,
    `  [ -n "$s" ] && exec scancel --signal=${signal} $s`,
    '  sleep 0.5',
    'done',
    `echo "no step ${stepName(runId)} in job ${jobId}" >&2; exit 1`,
    '',
  ].join('\n');
}

export interface StartedStep {
  readonly runId: string;
  /** Ctrl-C: SIGINT to the step; `KILL` for a second press. */
  signal(signal: 'INT' | 'KILL'): Promise<GpuDevError | undefined>;
}

/** Starts the step; the handlers get its output and its end. */
export function startStep(login: Runner, request: StepRequest, handlers: RunHandlers): StartedStep {
  const signal = async (which: 'INT' | 'KILL') => {
    const result = await login.run(['sh', '-s'], { stdin: signalScript(request.jobId, request.runId, which) });
    if (result.failure) return result.failure;
    return result.exitCode === 0
      ? undefined
      : { message: result.stderr.trim() || `scancel failed (${result.exitCode})` };
  };
  if (!login.hold) {
    handlers.onEnd({ exitCode: null, error: { message: `${login.label} cannot stream a command's output` } });
    return { runId: request.runId, signal };
  }
  const program = login.hold(['sh', '-s'], {
    onData: (text) => handlers.onStdout(text),
    onStderr: (text) => handlers.onStderr(text),
    onEnd: (end) =>
      handlers.onEnd(
        end.failure
          ? { exitCode: null, error: end.failure }
          : end.notFound
            ? { exitCode: null, error: { message: `sh not found on ${login.label}` } }
            : { exitCode: end.exitCode },
      ),
  });
  program.write(stepScript(request));
  program.close();
  return { runId: request.runId, signal };
}

export interface RunRequest {
  /** The workspace folder on this machine. */
  readonly root: string;
  readonly jobId: string;
  readonly command: readonly string[];
  readonly login: Runner;
  readonly local: Runner;
  /** Default: ~/gpudev/<workspace> or <scratch>/gpudev/<workspace>. */
  readonly remoteDir?: string;
  readonly scratch?: string;
  readonly node?: string;
  /** The job's nodes (squeue %D): past 1 the command runs on every node. */
  readonly nodeCount?: number;
  readonly colour?: boolean;
  /** Where the sync record lives (default under ~/.cache/gpudev/sync). */
  readonly recordFile?: string;
  readonly exclude?: (relative: string) => boolean;
}

/** The command's workspace files checked, the workspace synced (those files with it), the step started. */
export async function runOnReservation(
  request: RunRequest,
  handlers: RunHandlers,
  onSynced: (report: SyncReport) => void = () => undefined,
): Promise<StartedStep | GpuDevError> {
  if (!request.command.length) return { message: 'no command to run' };
  if (!JOB_ID.test(request.jobId)) return { message: `"${request.jobId}" is not a Slurm job id` };
  const remoteDir = request.remoteDir ?? defaultRemoteDir(request.root, request.scratch);
  const bad = checkRemoteDir(remoteDir);
  if (bad) return bad;
  const launch = (request.nodeCount ?? 1) > 1 ? multiNodeLaunch(request.command, request.nodeCount!) : undefined;
  if (launch && 'problem' in launch) return { message: launch.problem };
  const isFile = (relative: string) => {
    if (!isInside(relative)) return false;
    try {
      return fs.statSync(path.join(request.root, relative)).isFile();
    } catch {
      return false;
    }
  };
  const needed = launchFiles(request.command, isFile, () => {
    try {
      return fs.readdirSync(request.root, { recursive: true, encoding: 'utf8' }).slice(0, 5000);
    } catch {
      return [];
    }
  });
  if (needed.problems.length)
    return { message: needed.problems.join('; '), hint: `paths are relative to ${request.root}` };
  const synced = await syncWorkspace({
    root: request.root,
    remoteDir,
    login: request.login,
    local: request.local,
    recordFile: request.recordFile ?? recordFileFor(request.login.label, remoteDir, request.root),
    extra: needed.files,
    ...(request.exclude && { exclude: request.exclude }),
  });
  if ('message' in synced) return synced;
  onSynced(synced);
  return startStep(
    request.login,
    {
      jobId: request.jobId,
      command: request.command,
      remoteDir,
      runId: randomBytes(6).toString('hex'),
      ...(request.node && { node: request.node }),
      ...(request.nodeCount && { nodeCount: request.nodeCount }),
      ...(request.colour && { colour: true }),
    },
    handlers,
  );
}
