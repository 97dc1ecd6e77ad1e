// A host that is a node of a running Slurm job, reached through the login node: every program runs as a
// step inside the job's allocation (`srun --jobid=<job> --overlap`), so it sees the job's GPUs and node,
// and a long-running one can be started as a step of its own that ends with the job.
import type { HeldProgram, OutputStream, RunOptions, RunResult, Runner, StreamHandlers } from '../hosts/runner';

const JOB_ID = /^\d+(_\d+)?$/;
const NODE = /^[\w.-]+$/;

/** The srun prefix of one step on `node` of job `jobId`: one task, sharing the job's resources. */
export function stepArgv(jobId: string, node: string | undefined, argv: readonly string[]): string[] {
  if (!JOB_ID.test(jobId)) throw new Error(`not a Slurm job id: ${jobId}`);
  if (node !== undefined && !NODE.test(node)) throw new Error(`not a node name: ${node}`);
  return [
    'srun',
    `--jobid=${jobId}`,
    '--overlap',
    '--nodes=1',
    '--ntasks=1',
    '--quiet',
    ...(node ? [`--nodelist=${node}`] : []),
    '--',
    ...argv,
  ];
}

export class AllocationRunner implements Runner {
  readonly label: string;
  /** As the login node's runner can (a lock needs `hold`). */
  readonly stream?: (argv: readonly string[], handlers: StreamHandlers) => OutputStream;
  readonly hold?: (argv: readonly string[], handlers: StreamHandlers) => HeldProgram;

  constructor(
    private readonly login: Runner,
    readonly jobId: string,
    readonly node?: string,
  ) {
    this.label = `job ${jobId}${node ? ` on ${node}` : ''} (via ${login.label})`;
    if (login.stream) this.stream = (argv, handlers) => login.stream!(stepArgv(jobId, node, argv), handlers);
    if (login.hold) this.hold = (argv, handlers) => login.hold!(stepArgv(jobId, node, argv), handlers);
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.login.run(stepArgv(this.jobId, this.node, argv), options);
  }

  /**
   * Starts `argv` as a step of its own, detached from this connection (setsid nohup on the login node):
   * it runs until it exits or the job ends. Environment variables go in through `env`, never a shell.
   */
  startStep(argv: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<RunResult> {
    const assignments = Object.entries(env).map(([name, value]) => {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${name}`);
      return `${name}=${value}`;
    });
    const step = stepArgv(this.jobId, this.node, [...(assignments.length ? ['env', ...assignments] : []), ...argv]);
    return this.login.run([
      'sh',
      '-c',
      'setsid nohup "$@" </dev/null >/dev/null 2>&1 & echo started',
      'gpudev-step',
      ...step,
    ]);
  }
}
