// The user's side of a process session, started without sudo once the GPUs are recorded (and their
// root-only steps made): the MPS daemon on its private pipe folder, then the session folder and its
// sshd, each journalled in the lead GPU's record before it is made.
import type { RunResult, Runner } from '../../hosts/runner';
import { StepFailure } from '../applyGpu';
import { makeCommand, mpsEnv } from '../changes';
import { runHostCommand } from '../hostCommands';
import type { HostMutation } from '../planner';
import type { SessionRecord } from './sessionRecord';
import { parseStarted, sshdArgv, startScript, waitScript, type StartedSshd } from './sessionFiles';

export interface UserSide {
  /** The MPS daemon's mutation and folder (`<user journal>/mps/<session>`, recorded intended already), when the plan uses MPS. */
  readonly mps?: { readonly mutation: HostMutation; readonly folder: string };
  readonly folder: string;
  /** The disguise; the MPS pipe's variables are added here. */
  readonly env: Record<string, string>;
  readonly authorizedKeys: readonly string[];
  readonly shimTar: Buffer;
  readonly lockedGpu: string;
  readonly hostLabel: string;
  readonly jobStep?: (argv: readonly string[], env?: Readonly<Record<string, string>>) => Promise<RunResult>;
  /** In a job: the keeper step (jobKeeper.ts), started once the sshd is recorded. */
  readonly keeper?: readonly string[];
  readonly begin: (description: string) => void;
}

function launched(result: RunResult): void {
  if (result.failure) throw new StepFailure(result.failure);
  if (result.exitCode !== 0)
    throw new StepFailure({
      message: `could not start a job step: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    });
}

/** Asks until `argv` succeeds (about 15 s at most). */
async function waitFor(runner: Runner, argv: readonly string[], failure: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await runner.run(argv)).exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new StepFailure({ message: failure });
}

export async function startUserSide(side: UserSide, record: SessionRecord, runner: Runner): Promise<StartedSshd> {
  const { mps, env } = side;
  if (mps) {
    side.begin(mps.mutation.description);
    const made = await runHostCommand(
      runner,
      { argv: ['mkdir', '-p', '-m', '0700', '--', `${mps.folder}/pipe`, `${mps.folder}/log`] },
      false,
    );
    if (!made.ok) throw new StepFailure(made.error);
    if (side.jobStep) {
      launched(await side.jobStep(['nvidia-cuda-mps-control', '-f'], mpsEnv(mps.folder)));
      await waitFor(runner, ['test', '-e', `${mps.folder}/pipe/control`], 'the MPS daemon did not start');
    } else {
      const started = await runHostCommand(
        runner,
        makeCommand({ kind: 'mpsDaemon', folder: mps.folder }, side.lockedGpu)!,
        false,
      );
      if (!started.ok) throw new StepFailure(started.error);
    }
    Object.assign(env, mpsEnv(mps.folder));
  }

  side.begin(`start the session's sshd on ${side.hostLabel}`);
  const { folder } = side;
  await record.next({ kind: 'processSession', folder });
  const script = startScript({
    folder,
    env,
    authorizedKeys: side.authorizedKeys,
    shimTar: side.shimTar,
    inJob: !!side.jobStep,
  });
  const started = await runner.run(['sh', '-s'], { stdin: script, timeoutMs: 60_000 });
  if (started.failure) throw new StepFailure(started.failure);
  let output = started.exitCode === 0 ? started.stdout : '';
  if (output && side.jobStep) {
    launched(await side.jobStep(sshdArgv(folder)));
    const waited = await runner.run(['sh', '-s'], { stdin: waitScript(folder), timeoutMs: 30_000 });
    output += waited.exitCode === 0 ? waited.stdout : '';
  }
  const sshd = output ? parseStarted(output) : started.stderr.trim() || `exit ${started.exitCode}`;
  if (typeof sshd === 'string') throw new StepFailure({ message: `the session sshd did not start: ${sshd}` });
  await record.next({ kind: 'processSession', folder, port: sshd.port, pid: sshd.pid }, 'done');
  if (side.jobStep && side.keeper) launched(await side.jobStep(side.keeper));
  return sshd;
}
