// `gpudev lab up|status|down`: the demo lab (src/lab/lab.ts) on the command line.
import { parseArgs } from './core/cliArgs';
import { alignColumns } from './core/textTable';
import { shimRoot } from './cosplayUp';
import { labDown, labStatus, labUp } from './lab/lab';
import { labDir, LAB_CLUSTER, LAB_HOST, type LabState } from './lab/labState';

export const LAB_USAGE = `  gpudev lab up [--json]    start the demo lab on this machine, for trying the product without a GPU:
                            SSH host ${LAB_HOST} with eight simulated H100s, its own Docker Engine and the
                            Slurm cluster ${LAB_CLUSTER} (Docker and Slurm as root only); again after a reboot
  gpudev lab status [--json]   what of the lab runs
  gpudev lab down           stop everything the lab started and remove its files and ssh entries`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

function describeUp(state: LabState, dir: string): string {
  const lines = [
    `lab up (a simulation: no GPU is used; state in ${dir})`,
    `  SSH host ${LAB_HOST}: ${state.sshd!.user}@127.0.0.1:${state.sshd!.port}, eight fake H100 80GB HBM3 (try: gpudev gpus --host ${LAB_HOST})`,
    ...(state.docker ? [`  Docker Engine: ${state.docker.socket}, image ${state.docker.image}`] : []),
    ...(state.slurm
      ? [
          `  Slurm cluster ${LAB_CLUSTER}: node ${state.slurm.node} (try: gpudev reserve plan --login ${LAB_CLUSTER} --gpu h100)`,
        ]
      : []),
    ...state.missing.map((sentence) => `  not running: ${sentence}`),
    `  ssh: Host ${LAB_HOST} and ${LAB_CLUSTER} in ${state.sshConfigFile}${state.addedInclude ? ' (Include added to ~/.ssh/config)' : ''}, host key pinned`,
    `  VS Code: npm start -- --lab opens it; or add ${dir}/settings.json's entries to your User settings`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function labCommand(args: string[], io: Io, dir = labDir()): Promise<number> {
  const parsed = parseArgs(args, new Set(['--json']), new Set());
  const fail = (message: string, code = 2) => {
    io.err(`gpudev lab: ${message}\n`);
    return code;
  };
  if (typeof parsed === 'string') return fail(parsed);
  const [verb, ...extra] = parsed.positional;
  if (extra.length || !verb || !['up', 'status', 'down'].includes(verb)) return fail(`usage:\n${LAB_USAGE}`);
  const json = parsed.flags.has('--json');
  const say = (text: string) => io.err(`[gpudev] ${text}\n`);
  if (verb === 'up') {
    const state = await labUp(shimRoot(), dir, { say });
    if (typeof state === 'string') return fail(state, 1);
    io.out(json ? `${JSON.stringify(state, null, 2)}\n` : describeUp(state, dir));
    return 0;
  }
  if (verb === 'status') {
    const parts = await labStatus(dir);
    if (typeof parts === 'string') return fail(parts, 1);
    if (json) io.out(`${JSON.stringify(parts ?? [], null, 2)}\n`);
    else if (!parts) io.out('no lab is up (gpudev lab up starts one)\n');
    else
      io.out(
        `${alignColumns(
          parts.map((p) => [p.part, p.running ? 'running' : p.running === null ? 'not started' : 'stopped', p.detail]),
          [0, 1, 2],
        ).join('\n')}\n`,
      );
    return parts?.some((p) => p.running === false) ? 1 : 0;
  }
  const done = await labDown(dir, { say });
  if (typeof done === 'string') return fail(done, 1);
  io.out(done ? 'lab down: everything it started is stopped and its files removed\n' : 'no lab was up\n');
  return 0;
}
