import { builtinCatalog } from './catalog/catalog';
import type { GpuEntry } from './catalog/schema';
import { parseArgs } from './core/cliArgs';
import { describeError } from './core/errors';
import { alignColumns } from './core/textTable';
import { planMultiCosplay } from './cosplay/multiPlan';
import { planCosplay, STRATEGIES, type Strategy } from './cosplay/planner';
import { formatPlan } from './cosplay/planText';
import { COSPLAY_USAGE, cosplayCommand } from './cosplayCli';
import { LAB_USAGE, labCommand } from './labCli';
import { RESERVE_USAGE, reserveCommand } from './reserveCli';
import { analyzeCommand, exportCommand, initCommand, WORKSPACE_USAGE } from './workspaceCli';
import { summarizeGpu } from './hosts/gpu';
import { probeGpus } from './hosts/gpuProbe';
import { LocalRunner } from './hosts/runner';
import { createSshRunner } from './hosts/sshHosts';

declare const GPUDEV_VERSION: string;

const USAGE = `gpudev ${GPUDEV_VERSION}: GPU Dev Environments on the command line

Usage:
  gpudev gpus [--host H] [--json]
                            list the NVIDIA GPUs of this machine or of an SSH host (nvidia-smi)
  gpudev catalog [--json]   the GPUs it knows: targets and MIG hosts, dense datasheet rates
  gpudev plan <target> --host <gpu> [--num N] [--strategy mig|mps|memory] [--json]
                            plan a cosplay of <target> on a host GPU model; changes nothing
${COSPLAY_USAGE}
${RESERVE_USAGE}
${LAB_USAGE}
${WORKSPACE_USAGE}
  gpudev --version
  gpudev help
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** `gpus [--host H] [--json]`: the GPUs of this machine, or of an ssh alias or user@host[:port]. */
async function listGpus(args: string[], io: Io): Promise<number> {
  const parsed = parseArgs(args, new Set(['--json']), new Set(['--host']));
  if (typeof parsed === 'string' || parsed.positional.length) {
    io.err(`gpudev gpus: ${typeof parsed === 'string' ? parsed : 'usage: gpudev gpus [--host H] [--json]'}\n`);
    return 2;
  }
  const json = parsed.flags.has('--json');
  const spec = parsed.options.get('--host');
  const local = new LocalRunner();
  const ssh = spec ? await createSshRunner({ name: spec, ssh: spec }, local) : undefined;
  if (ssh && 'message' in ssh) {
    io.err(`gpudev gpus: ${describeError(ssh)}\n`);
    return 1;
  }
  const result = await probeGpus(ssh ?? local).finally(() => ssh?.close());
  if (json) {
    io.out(`${JSON.stringify(result, null, 2)}\n`);
    return result.kind === 'error' ? 1 : 0;
  }
  if (result.kind !== 'gpus') {
    if (result.kind === 'error') io.err(`${describeError(result.error)}\n`);
    else io.out(`${describeError(result.error)}\n`);
    return result.kind === 'error' ? 1 : 0;
  }
  for (const gpu of result.gpus) io.out(`${gpu.index}  ${gpu.name}  ${summarizeGpu(gpu)}\n`);
  for (const problem of result.problems) io.err(`warning: ${problem}\n`);
  return 0;
}

const tf = (value: number | null) => (value === null ? '—' : value.toFixed(1));

function catalogTable(entries: readonly GpuEntry[]): string {
  const header = ['key', 'name', 'SMs', 'VRAM GiB', 'FP32', 'BF16', 'FP16', 'TF32', 'FP8', 'TDP W', 'MIG'];
  const rows = entries.map((e) => [
    e.key,
    e.name,
    String(e.smCount),
    (e.vramMiB / 1024).toFixed(1),
    tf(e.fp32Tflops),
    tf(e.bf16Fp32Acc),
    tf(e.fp16Fp32Acc),
    tf(e.tf32),
    tf(e.fp8),
    String(e.tdpW),
    e.host?.migProfiles.length ? `${e.host.migProfiles.length} profiles` : '',
  ]);
  return [
    ...alignColumns([header, ...rows], [0, 1]),
    '',
    'Dense TFLOPS at datasheet clocks; BF16/FP16 tensor with FP32 accumulate; — where the GPU has no such path.',
  ].join('\n');
}

function listCatalog(json: boolean, io: Io): number {
  const entries = builtinCatalog().entries;
  io.out(json ? `${JSON.stringify(entries, null, 2)}\n` : `${catalogTable(entries)}\n`);
  return 0;
}

/** `plan <target> --host <gpu> [--num N] [--strategy S] [--json]`: returns the exit code. */
function plan(args: string[], io: Io): number {
  const fail = (message: string) => {
    io.err(`gpudev plan: ${message}\n`);
    return 2;
  };
  const parsed = parseArgs(args, new Set(['--json']), new Set(['--host', '--num', '--strategy']));
  if (typeof parsed === 'string') return fail(parsed);
  const { positional, options } = parsed;
  const json = parsed.flags.has('--json');
  if (positional.length !== 1 || !options.has('--host'))
    return fail('usage: gpudev plan <target> --host <gpu> [--num N] [--strategy mig|mps|memory] [--json]');
  const strategy = options.get('--strategy');
  if (strategy !== undefined && !STRATEGIES.includes(strategy as Strategy))
    return fail(`--strategy must be one of ${STRATEGIES.join(', ')}, not ${strategy}`);
  const gpuCount = Number(options.get('--num') ?? 1);
  const catalog = builtinCatalog();
  const target = catalog.lookup(positional[0]!);
  const host = catalog.lookup(options.get('--host')!);
  for (const found of [target, host]) if (!found.ok) return fail(describeError(found.error));
  if (!target.ok || !host.ok) return 2;
  const request = { target: target.entry, host: host.entry, strategy: strategy as Strategy | undefined };
  // Several GPUs: planned as a session of them (each GPU alike, the interconnect row).
  const several =
    Number.isInteger(gpuCount) && gpuCount > 1
      ? planMultiCosplay(
          request,
          Array.from({ length: gpuCount }, (_, index) => ({ index })),
        )
      : undefined;
  const result = several?.ok
    ? { ok: true as const, plan: several.gpus[0]!.plan }
    : (several ?? planCosplay({ ...request, gpuCount }));
  if (!result.ok) {
    io.err(`gpudev plan: ${describeError(result.error)}\n`);
    return 1;
  }
  const planArgs = {
    target: target.entry.key,
    host: host.entry.key,
    gpuCount,
    strategy: strategy as Strategy | undefined,
  };
  io.out(json ? `${JSON.stringify(result.plan, null, 2)}\n` : `${formatPlan(result.plan, planArgs)}\n`);
  return 0;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'plan') return plan(rest, io);
  if (command === 'cosplay') return cosplayCommand(rest, io);
  if (command === 'reserve') return reserveCommand(rest, io);
  if (command === 'lab') return labCommand(rest, io);
  if (command === 'gpus') return listGpus(rest, io);
  if (command === 'analyze') return analyzeCommand(rest, io);
  if (command === 'init') return initCommand(rest, io);
  if (command === 'export') return exportCommand(rest, io);
  const unknownFlag = rest.find((arg) => arg !== '--json');
  if (command === '--version' || command === '-V') {
    io.out(`${GPUDEV_VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return 0;
  }
  const commands: Record<string, (json: boolean) => number | Promise<number>> = {
    catalog: (json) => listCatalog(json, io),
  };
  const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (run && !unknownFlag) return run(rest.includes('--json'));
  io.err(`gpudev: ${run ? `unknown option ${unknownFlag}` : `unknown command ${command}`}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  // `gpudev gpus | head -1` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`gpudev: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
