// A stand-in for nvidia-cuda-mps-control: `-d` starts a "daemon" (a marker file in
// CUDA_MPS_PIPE_DIRECTORY, which must exist), `quit` on stdin stops it, as the real one does; `-f` is
// the daemon in the foreground: a process that keeps the marker until `quit` or a signal ends it.
import * as fs from 'node:fs';
import * as path from 'node:path';

const pipe = process.env.CUDA_MPS_PIPE_DIRECTORY ?? '/tmp/nvidia-mps';
const marker = path.join(pipe, 'control');

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

if (process.argv[2] === '-d') {
  if (!fs.existsSync(pipe)) fail(`Cannot open ${pipe}: No such file or directory`);
  if (fs.existsSync(marker)) fail('An instance of this daemon is already running');
  fs.writeFileSync(marker, String(process.pid));
} else if (process.argv[2] === '-f') {
  if (!fs.existsSync(pipe)) fail(`Cannot open ${pipe}: No such file or directory`);
  if (fs.existsSync(marker)) fail('An instance of this daemon is already running');
  fs.writeFileSync(marker, String(process.pid));
  const stop = () => {
    fs.rmSync(marker, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setInterval(() => fs.existsSync(marker) || process.exit(0), 200);
} else {
  const commands = fs.readFileSync(0, 'utf8');
  if (!fs.existsSync(marker)) fail('Cannot find MPS control daemon process');
  if (/^quit\b/m.test(commands)) fs.rmSync(marker);
}
