// `gpudev cosplay up|list|verify|down`: the extension's apply, sessions and verify, on the command line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog } from './catalog/catalog';
import { parseArgs } from './core/cliArgs';
import { describeError } from './core/errors';
import { alignColumns } from './core/textTable';
import { applyCosplay, newSessionName } from './cosplay/apply';
import { calibrateSession } from './cosplay/calibrate';
import { DEFAULT_COSPLAY_IMAGE, readTestHostProfile, SHIM_DIR, shimArchive } from './cosplay/hostProfile';
import { planCosplay, STRATEGIES, type Strategy } from './cosplay/planner';
import { liveSessionOf } from './cosplay/session';
import { listSessions, sameGpu, stopSession } from './cosplay/sessions';
import { parseVerifyReport, shown, verifySummary } from './cosplay/verifyReport';
import { connectDocker, DockerFailure, localDockerSocket, sshDockerTarget, type DockerEngine } from './hosts/docker';
import { probeGpus } from './hosts/gpuProbe';
import { parseHostSpec } from './hosts/sshConfig';
import { createSshRunner } from './hosts/sshHosts';
import { LocalRunner, LOCAL_HOST, type Runner } from './hosts/runner';

export const COSPLAY_USAGE = `  gpudev cosplay up <target> [--gpu N] [--strategy mig|mps|memory] [--image I] [--sudo] [--host H]
                            apply a cosplay: host settings, then a container with the shim
  gpudev cosplay list [--host H] [--json]    the sessions, from their container labels
  gpudev cosplay verify <session> [--host H] run the shim's checks in a session
  gpudev cosplay calibrate <session> [--sudo] [--host H]
                            bisect the clock lock until FP32 matches the target
                            (the container is made again: files outside mounts are lost)
  gpudev cosplay down <session> [--sudo] [--host H]
                            stop a session and restore the host
                            (--host: an ssh alias or user@host[:port]; default this machine)`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const FLAGS = new Set(['--json', '--sudo']);
const VALUED = new Set(['--gpu', '--strategy', '--image', '--host']);

/** The host's runner and engine: this machine (DOCKER_HOST or Docker's socket) or an SSH host. */
async function hostOf(spec: string | undefined, local: Runner): Promise<{ label: string; runner: Runner; docker: DockerEngine; close(): void } | string> {
  if (!spec || spec === 'local') return { label: LOCAL_HOST, runner: local, docker: connectDocker({ kind: 'local', label: LOCAL_HOST, socketPath: localDockerSocket() }), close: () => undefined };
  const refused = parseHostSpec(spec);
  if (typeof refused === 'string') return refused;
  const runner = await createSshRunner({ name: spec, ssh: spec }, local);
  if ('message' in runner) return describeError(runner);
  return { label: spec, runner, docker: connectDocker(sshDockerTarget(runner)), close: () => runner.close() };
}

export async function cosplayCommand(args: readonly string[], io: Io): Promise<number> {
  const fail = (message: string, code = 2) => {
    io.err(`gpudev cosplay: ${message}\n`);
    return code;
  };
  const [verb, ...rest] = args;
  const parsed = parseArgs(rest, FLAGS, VALUED);
  if (typeof parsed === 'string') return fail(parsed);
  const { positional, options, flags } = parsed;
  if (!verb || !['up', 'list', 'verify', 'calibrate', 'down'].includes(verb)) return fail(`usage:\n${COSPLAY_USAGE}`);
  if (verb !== 'list' && positional.length !== 1) return fail(`${verb} needs one ${verb === 'up' ? 'target' : 'session'}`);
  const host = await hostOf(options.get('--host'), new LocalRunner());
  if (typeof host === 'string') return fail(host);
  try {
    if (verb === 'up') return await up(positional[0]!, options, flags.has('--sudo'), host, io);
    const { sessions } = await listSessions(host.docker);
    if (verb === 'list') {
      if (flags.has('--json')) io.out(`${JSON.stringify(sessions, null, 2)}\n`);
      else if (!sessions.length) io.out(`no cosplay sessions on ${host.label}\n`);
      else io.out(`${alignColumns([['session', 'target', 'gpu', 'strategy', 'state'], ...sessions.map((s) => [s.name, s.plan.targetName, String(s.gpuIndex), s.plan.strategy, s.state])], [0, 1]).join('\n')}\n`);
      return 0;
    }
    const session = sessions.find((s) => s.name === positional[0]);
    if (!session) return fail(`no session ${positional[0]} on ${host.label} (gpudev cosplay list shows them)`, 1);
    if (verb === 'down') {
      const outcome = await stopSession(session, host.runner, host.docker, flags.has('--sudo'));
      outcome.kept.forEach((k) => io.out(`kept for another session on the GPU: ${k}\n`));
      outcome.failures.forEach((f) => io.err(`could not restore: ${f}\n`));
      if (!outcome.failures.length) io.out(`${session.name} stopped; ${host.label} restored\n`);
      return outcome.failures.length ? 1 : 0;
    }
    if (verb === 'calibrate') {
      const outcome = await calibrateSession({
        session, sudo: flags.has('--sudo'), shimTar: await shimArchive(shimRoot()),
        onRun: (run, i) => io.err(`… run ${i + 1}: ${run.clockMHz} MHz → ${run.fp32.toFixed(1)} TFLOPS FP32\n`),
      }, host.runner, host.docker);
      if (!outcome.ok) return fail(`${describeError(outcome.error)}; the clock lock is as it was`, 1);
      io.out(`${session.name}: clocks locked at ${outcome.best.clockMHz} MHz give ${outcome.best.fp32.toFixed(1)} TFLOPS FP32${outcome.withinTolerance ? '' : ' (still more than 10% off)'}\n`);
      return outcome.withinTolerance ? 0 : 1;
    }
    const report = parseVerifyReport((await host.docker.exec(session.containerId, ['python3', `${SHIM_DIR}/verify.py`, '--json'])).stdout);
    if (!report.ok) return fail(report.error, 1);
    for (const c of report.report.checks) io.out(`${c.status.toUpperCase().padEnd(5)} ${c.title}${c.status === 'fail' ? ` (expected ${shown(c.expected)}, got ${shown(c.actual)})` : ''}\n`);
    io.out(`${verifySummary(report.report)}\n`);
    return report.report.checks.some((c) => c.status === 'fail') ? 1 : 0;
  } catch (error) {
    if (error instanceof DockerFailure) return fail(describeError(error.failure), 1);
    throw error;
  } finally {
    host.close();
  }
}

/** The folder holding shim/: the package root next to dist/cli.js (or above a test bundle). */
function shimRoot(): string {
  const candidates = [1, 2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..')));
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'shim', 'verify.py'))) ?? candidates[0]!;
}

async function up(targetName: string, options: Map<string, string>, sudo: boolean, host: { label: string; runner: Runner; docker: DockerEngine }, io: Io): Promise<number> {
  const catalog = builtinCatalog();
  const target = catalog.lookup(targetName);
  if (!target.ok) return (io.err(`gpudev cosplay: ${describeError(target.error)}\n`), 2);
  const strategy = options.get('--strategy') as Strategy | undefined;
  if (strategy && !STRATEGIES.includes(strategy)) return (io.err(`gpudev cosplay: --strategy must be one of ${STRATEGIES.join(', ')}\n`), 2);
  const probe = await probeGpus(host.runner);
  if (probe.kind !== 'gpus') return (io.err(`gpudev cosplay: ${describeError(probe.error)}\n`), 1);
  const gpuIndex = Number(options.get('--gpu') ?? 0);
  const gpu = probe.gpus.find((g) => g.index === gpuIndex);
  if (!gpu) return (io.err(`gpudev cosplay: ${host.label} has no GPU ${options.get('--gpu')} (it has ${probe.gpus.map((g) => g.index).join(', ')})\n`), 2);
  const model = catalog.byNvmlName(gpu.name);
  if (!model) return (io.err(`gpudev cosplay: GPU ${gpu.index} (${gpu.name}) is not in the catalog yet\n`), 1);
  const live = (await listSessions(host.docker)).sessions.filter((s) => s.running && sameGpu(s, gpu.index, gpu.uuid)).map(liveSessionOf);
  const planned = planCosplay({ target: target.entry, host: model, hostGpuCount: probe.gpus.length, strategy, liveSessions: live });
  if (!planned.ok) return (io.err(`gpudev cosplay: ${describeError(planned.error)}\n`), 1);
  const profile = await readTestHostProfile();
  const sessionName = newSessionName(target.entry.key, gpu.index);
  const outcome = await applyCosplay({
    plan: planned.plan, gpuIndex: gpu.index, hostLabel: host.label, sessionName, sudo,
    image: profile?.image ?? options.get('--image') ?? DEFAULT_COSPLAY_IMAGE,
    shimTar: await shimArchive(shimRoot()), workspace: host.label === LOCAL_HOST ? process.cwd() : undefined,
    gpuRequest: !profile, extraBinds: profile?.binds, extraEnv: profile?.env,
    onStep: (step) => io.err(`… ${step}\n`),
  }, host.runner, host.docker);
  if (!outcome.ok) {
    io.err(`gpudev cosplay: failed at "${outcome.failedStep}": ${describeError(outcome.error)}\n`);
    io.err(outcome.restored ? 'every earlier step was undone: the host is as it was\n' : `could not undo: ${outcome.undoFailures.join('; ')}\n`);
    return 1;
  }
  io.out(`${sessionName}\n`);
  return 0;
}
