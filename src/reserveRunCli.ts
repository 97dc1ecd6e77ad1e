// `gpudev reserve run <job> [--login L] [--dir D] [--workspace W] -- <command…>`: the workspace synced to
// the cluster, the command run inside the reservation's allocation, its output here, Ctrl-C passed on.
import { parseArgs } from './core/cliArgs';
import { describeError } from './core/errors';
import { LocalRunner, type Runner } from './hosts/runner';
import { parseHostSpec } from './hosts/sshConfig';
import { createSshRunner } from './hosts/sshHosts';
import { firstNode } from './reserve/attach';
import { syncExcludeOf } from './workspace/syncExclude';
import { runOnReservation, type StartedStep } from './reserve/runOnReservation';
import { SlurmCluster } from './reserve/slurm/cluster';

export const RESERVE_RUN_USAGE = `  gpudev reserve run <job id> [--login L] [--dir D] [--workspace W] -- <command…>
                            syncs the workspace (default: this folder; git-aware, only changed files) to D
                            (default ~/gpudev/<folder>) and runs the command there inside the job's allocation
                            (srun --overlap); Ctrl-C interrupts it, twice kills it; exits with its exit code`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export async function reserveRunCommand(args: readonly string[], io: Io): Promise<number> {
  const fail = (message: string, code = 2) => {
    io.err(`gpudev reserve run: ${message}\n`);
    return code;
  };
  const dash = args.indexOf('--');
  const command = dash < 0 ? [] : args.slice(dash + 1);
  const parsed = parseArgs(
    dash < 0 ? args : args.slice(0, dash),
    new Set(),
    new Set(['--login', '--dir', '--workspace']),
  );
  if (typeof parsed === 'string') return fail(parsed);
  const [jobId, ...extra] = parsed.positional;
  if (!jobId || extra.length || !command.length) return fail(`usage:\n${RESERVE_RUN_USAGE}`);
  const spec = parsed.options.get('--login');
  const local = new LocalRunner();
  let login: Runner & { close?(): void } = local;
  if (spec && spec !== 'local') {
    const refused = parseHostSpec(spec);
    if (typeof refused === 'string') return fail(refused);
    const runner = await createSshRunner({ name: spec, ssh: spec }, local);
    if ('message' in runner) return fail(describeError(runner), 1);
    login = runner;
  }
  try {
    const jobs = await new SlurmCluster(spec ?? 'local', login).list();
    if ('message' in jobs) return fail(describeError(jobs), 1);
    const job = jobs.find((j) => j.jobId === jobId);
    if (!job || job.state !== 'RUNNING')
      return fail(`job ${jobId} is ${job ? job.state : 'not one of your gpudev jobs'}: run once it runs`, 1);
    return await runAndWait(
      { jobId, command, login, local, node: firstNode(job.nodes), nodeCount: job.nodeCount, options: parsed.options },
      io,
    );
  } finally {
    login.close?.();
  }
}

function runAndWait(
  what: {
    jobId: string;
    command: string[];
    login: Runner;
    local: Runner;
    node: string | undefined;
    nodeCount?: number | undefined;
    options: Map<string, string>;
  },
  io: Io,
): Promise<number> {
  return new Promise((resolve) => {
    let step: StartedStep | undefined;
    let presses = 0;
    const onInterrupt = () => {
      if (!step) {
        io.err('\ngpudev: stopped before the command started\n');
        return finish(130);
      }
      presses++;
      io.err(`\ngpudev: ${presses === 1 ? 'interrupting (SIGINT; Ctrl-C again kills it)' : 'killing'} the step\n`);
      void step.signal(presses === 1 ? 'INT' : 'KILL').then((error) => error && io.err(`gpudev: ${error.message}\n`));
    };
    process.on('SIGINT', onInterrupt);
    const finish = (code: number) => {
      process.off('SIGINT', onInterrupt);
      resolve(code);
    };
    const root = what.options.get('--workspace') ?? process.cwd();
    const exclude = syncExcludeOf(root);
    if (typeof exclude === 'string') {
      io.err(`gpudev reserve run: ${exclude}\n`);
      return finish(2);
    }
    void runOnReservation(
      {
        root,
        ...(exclude && { exclude }),
        jobId: what.jobId,
        command: what.command,
        login: what.login,
        local: what.local,
        ...(what.options.has('--dir') && { remoteDir: what.options.get('--dir')! }),
        ...(what.node && { node: what.node }),
        ...(what.nodeCount && { nodeCount: what.nodeCount }),
      },
      {
        onStdout: (text) => io.out(text),
        onStderr: (text) => io.err(text),
        onEnd: ({ exitCode, error }) => {
          if (error) io.err(`gpudev reserve run: ${describeError(error)}\n`);
          else io.err(`gpudev: exit code ${exitCode ?? 'none (the step was killed)'}\n`);
          finish(error ? 1 : (exitCode ?? 1));
        },
      },
      (synced) =>
        io.err(
          `gpudev: synced ${synced.sent.length} of ${synced.files} files (${synced.bytes} bytes${synced.deleted.length ? `, ${synced.deleted.length} removed` : ''}) to ${synced.remoteDir} by ${synced.transport}${synced.fallback ? ` (${synced.fallback})` : ''}\n`,
        ),
    ).then((started) => {
      if ('message' in started) {
        io.err(`gpudev reserve run: ${describeError(started)}\n`);
        finish(1);
      } else step = started;
    });
  });
}
