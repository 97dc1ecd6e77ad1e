// `gpudev cosplay up`: plan against what the host GPU really is (model, MIG state and instances, the
// sessions on it), then apply as the extension does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { builtinCatalog } from './catalog/catalog';
import { describeError } from './core/errors';
import { upProcess } from './cosplayProcess';
import { readWorkspaceConfig } from './workspace/readConfig';
import { sessionDefaults } from './workspace/sessionDefaults';
import { applyCosplay, newSessionName } from './cosplay/apply';
import type { BusyProcess } from './cosplay/busyGpu';
import { migStateOf } from './cosplay/hostCommands';
import { localOwner } from './cosplay/hostJournal';
import { DEFAULT_COSPLAY_IMAGE, readTestHostProfile, shimArchive } from './cosplay/hostProfile';
import { gpuIndicesOf, planMultiCosplay, type GpuSlot } from './cosplay/multiPlan';
import { STRATEGIES, type Strategy } from './cosplay/planner';
import { liveSessionOf } from './cosplay/session';
import { sameGpu, type Listing } from './cosplay/sessions';
import { DockerFailure, type DockerEngine } from './hosts/docker';
import { probeGpus } from './hosts/gpuProbe';
import { probeHostModel, withHostMigProfiles } from './cosplay/hostModelProbe';
import { hostModelNotes } from './cosplay/unknownHost';
import { LOCAL_HOST, type RunResult, type Runner } from './hosts/runner';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface CliHost {
  readonly label: string;
  readonly runner: Runner;
  readonly docker: DockerEngine;
  /** A node of a Slurm job (`--reservation`): sessions there are process sessions whose daemons are job steps. */
  readonly job?: {
    readonly login: string;
    readonly node: string;
    startStep(argv: readonly string[], env?: Readonly<Record<string, string>>): Promise<RunResult>;
  };
  close(): void;
}

/** The folder holding shim/: the package root next to dist/cli.js (or above a test bundle). */
export function shimRoot(): string {
  const candidates = [1, 2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..')));
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'shim', 'verify.py'))) ?? candidates[0]!;
}

const dockerProblem = (error: unknown) =>
  error instanceof DockerFailure ? error.failure.message : error instanceof Error ? error.message : String(error);

/** Asks on a terminal; never on a pipe (CI, scripts), where only --force goes on. */
async function askToGoOn(processes: readonly BusyProcess[], io: Io): Promise<boolean> {
  io.err(
    `GPU has processes of other users: ${processes.map((p) => `${p.pid} (${p.user ?? 'owner unknown'}, ${p.name}${p.memoryMiB !== null ? `, ${p.memoryMiB} MiB` : ''})`).join(', ')}\n`,
  );
  if (!process.stdin.isTTY) return false;
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question('Change its MIG mode, clocks and power anyway? [y/N] ')).trim());
  } finally {
    prompt.close();
  }
}

export async function up(
  targetName: string,
  options: Map<string, string>,
  flags: Set<string>,
  host: CliHost,
  listing: Listing,
  io: Io,
): Promise<number> {
  const fail = (message: string, code: number) => (io.err(`gpudev cosplay: ${message}\n`), code);
  const catalog = builtinCatalog();
  const target = catalog.lookup(targetName);
  if (!target.ok) return fail(describeError(target.error), 2);
  const strategy = options.get('--strategy') as Strategy | undefined;
  if (strategy && !STRATEGIES.includes(strategy)) return fail(`--strategy must be one of ${STRATEGIES.join(', ')}`, 2);
  const probe = await probeGpus(host.runner);
  if (probe.kind !== 'gpus') return fail(describeError(probe.error), 1);
  const indices = gpuIndicesOf(options.get('--gpu'), options.get('--num'));
  if (typeof indices === 'string') return fail(indices, 2);
  const missingGpu = indices.find((i) => !probe.gpus.some((g) => g.index === i));
  if (missingGpu !== undefined)
    return fail(`${host.label} has no GPU ${missingGpu} (it has ${probe.gpus.map((g) => g.index).join(', ')})`, 2);
  // The model is planned from the first GPU (from the catalog, or from what it reports when the
  // catalog lacks it); every other GPU of the session must report the same name.
  const first = probe.gpus.find((g) => g.index === indices[0])!;
  const known = catalog.byNvmlName(first.name);
  const hostModel = known ? undefined : await probeHostModel(host.runner, first.index);
  if (typeof hostModel === 'string')
    return fail(`GPU ${first.index} (${first.name}) is not in the catalog: ${hostModel}`, 1);
  const completed = known ? await withHostMigProfiles(host.runner, first.index, known) : undefined;
  const model = completed?.entry ?? hostModel!.entry;
  const notes = hostModel ? hostModelNotes(hostModel) : completed?.note ? [completed.note] : [];
  for (const line of notes) io.err(`… ${line}\n`);
  const slots: GpuSlot[] = [];
  for (const index of new Set(indices)) {
    const gpu = probe.gpus.find((g) => g.index === index)!;
    if (gpu.name !== first.name)
      return fail(
        `GPU ${gpu.index} is a ${gpu.name}, GPU ${first.index} a ${first.name}: a session's GPUs must be one model`,
        2,
      );
    const liveSessions = listing.sessions.filter((s) => sameGpu(s, gpu.index, gpu.uuid)).map(liveSessionOf);
    const hostMig = await migStateOf(host.runner, gpu);
    slots.push(...indices.filter((i) => i === index).map(() => ({ index, hostMig, liveSessions })));
  }
  const order = (slot: GpuSlot) => indices.indexOf(slot.index);
  const noDocker =
    flags.has('--no-docker') || host.job ? undefined : await host.docker.ping().then(() => undefined, dockerProblem);
  const processSession = flags.has('--no-docker') || !!host.job || !!noDocker;
  // A process session without sudo has no root, so no MIG slice: MPS unless the user chose.
  const sudo = flags.has('--sudo') && !host.job;
  const planned = planMultiCosplay(
    {
      target: target.entry,
      host: model,
      hostGpuCount: probe.gpus.length,
      strategy: strategy ?? (processSession && !sudo ? 'mps' : undefined),
    },
    slots.sort((a, b) => order(a) - order(b)),
  );
  if (!planned.ok) return fail(describeError(planned.error), 1);
  planned.warnings.forEach((w) => io.err(`warning: ${w}\n`));
  const lead = planned.gpus[0]!;
  const profile = await readTestHostProfile();
  // The workspace's environment (.gpudev.yaml in the working folder): its image, env and setup.
  const config = readWorkspaceConfig(process.cwd());
  if (typeof config === 'string') return fail(config, 2);
  const fromWorkspace = config && sessionDefaults(config);
  const sessionName = newSessionName(
    target.entry.key,
    planned.gpus.length > 1 ? planned.gpus.map((g) => g.gpuIndex) : lead.gpuIndex,
  );
  if (processSession) {
    if (noDocker) io.err(`Docker is not usable on ${host.label} (${noDocker}): a process session instead\n`);
    return upProcess(
      lead.plan,
      lead.gpuIndex,
      sessionName,
      host,
      shimRoot(),
      { ...fromWorkspace?.env, ...profile?.env },
      io,
      {
        sudo,
        confirmBusy: async (processes) => flags.has('--force') || askToGoOn(processes, io),
        ...((planned.gpus.length > 1 || lead.slices > 1) && { gpus: planned.gpus }),
      },
    );
  }
  const outcome = await applyCosplay(
    {
      plan: lead.plan,
      gpuIndex: lead.gpuIndex,
      gpus: planned.gpus,
      hostLabel: host.label,
      sessionName,
      sudo,
      owner: localOwner(),
      image: profile?.image ?? options.get('--image') ?? fromWorkspace?.image ?? DEFAULT_COSPLAY_IMAGE,
      shimTar: await shimArchive(shimRoot()),
      workspace: host.label === LOCAL_HOST ? process.cwd() : undefined,
      gpuRequest: !profile,
      extraBinds: profile?.binds,
      extraEnv: { ...fromWorkspace?.env, ...profile?.env },
      confirmBusy: async (processes) => flags.has('--force') || askToGoOn(processes, io),
      onStep: (step) => io.err(`… ${step}\n`),
    },
    host.runner,
    host.docker,
  );
  if (!outcome.ok) {
    io.err(`gpudev cosplay: failed at "${outcome.failedStep}": ${describeError(outcome.error)}\n`);
    io.err(
      outcome.restored
        ? 'every earlier step was undone: the host is as it was\n'
        : `host not restored: ${outcome.undoFailures.join('; ')}\n(gpudev cosplay cleanup retries)\n`,
    );
    return 1;
  }
  if (fromWorkspace?.setup) {
    io.err(`… .gpudev.yaml's setup in ${sessionName}\n`);
    const setup = await host.docker.exec(outcome.session.containerId!, ['sh', '-lc', fromWorkspace.setup]);
    io.err(setup.stdout + setup.stderr);
    if (setup.exitCode !== 0) io.err(`gpudev cosplay: the setup failed (exit ${setup.exitCode}); the session runs\n`);
  }
  io.out(`${sessionName}\n`);
  return 0;
}
