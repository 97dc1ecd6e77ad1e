import { describeError } from './core/errors';
import { summarizeGpu } from './hosts/gpu';
import { probeGpus } from './hosts/gpuProbe';
import { LocalRunner } from './hosts/runner';

declare const GPUDEV_VERSION: string;

const USAGE = `gpudev ${GPUDEV_VERSION}: GPU Dev Environments on the command line

Usage:
  gpudev gpus [--json]   list this machine's NVIDIA GPUs (nvidia-smi)
  gpudev --version
  gpudev help
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

async function listGpus(json: boolean, io: Io): Promise<number> {
  const result = await probeGpus(new LocalRunner());
  if (json) {
    io.out(`${JSON.stringify(result, null, 2)}\n`);
    return result.kind === 'error' ? 1 : 0;
  }
  if (result.kind !== 'gpus') {
    (result.kind === 'error' ? io.err : io.out)(`${describeError(result.error)}\n`);
    return result.kind === 'error' ? 1 : 0;
  }
  for (const gpu of result.gpus) io.out(`${gpu.index}  ${gpu.name}  ${summarizeGpu(gpu)}\n`);
  for (const problem of result.problems) io.err(`warning: ${problem}\n`);
  return 0;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const unknownFlag = rest.find((arg) => arg !== '--json');
  if (command === '--version' || command === '-V') {
    io.out(`${GPUDEV_VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return 0;
  }
  if (command === 'gpus' && !unknownFlag) return listGpus(rest.includes('--json'), io);
  io.err(`gpudev: ${unknownFlag && command === 'gpus' ? `unknown option ${unknownFlag}` : `unknown command ${command}`}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  // `gpudev gpus | head -1` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => {
      process.stderr.write(`gpudev: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
