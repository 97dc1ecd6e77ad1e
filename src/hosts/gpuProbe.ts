import type { GpuDevError } from '../core/errors';
import type { GpuSample } from './gpu';
import { MONITOR_FIELDS, monitorQueryArgs, parseQueryCsv, toGpuSamples } from './nvidiaSmi/queryCsv';
import { LOCAL_HOST, type RunResult, type Runner } from './runner';

export type ProbeResult =
  | { readonly kind: 'gpus'; readonly host: string; readonly gpus: GpuSample[]; readonly problems: readonly string[]; readonly at: number }
  | { readonly kind: 'no-driver'; readonly host: string; readonly error: GpuDevError; readonly at: number }
  | { readonly kind: 'error'; readonly host: string; readonly error: GpuDevError; readonly at: number; readonly untrustedHostKey?: RunResult['untrustedHostKey']; readonly retry?: false };

function firstLine(text: string): string {
  return text.trim().split(/\r?\n/)[0]?.slice(0, 300) ?? '';
}

/** Samples every GPU of a host with one nvidia-smi query. Never throws: failures are values. */
export async function probeGpus(runner: Runner, now: () => number = Date.now): Promise<ProbeResult> {
  const host = runner.label;
  const result = await runner.run(['nvidia-smi', ...monitorQueryArgs()]);
  const at = now();
  if (result.failure) {
    const { untrustedHostKey, retryable } = result;
    return { kind: 'error', host, at, error: result.failure, ...(untrustedHostKey && { untrustedHostKey }), ...(retryable === false && { retry: false as const }) };
  }
  if (result.notFound) {
    return { kind: 'no-driver', host, at, error: { message: 'No NVIDIA GPU: nvidia-smi not found', hint: `install the NVIDIA driver on ${host === LOCAL_HOST ? 'this machine' : host}` } };
  }
  if (result.timedOut) {
    return { kind: 'error', host, at, error: { message: `nvidia-smi did not answer on ${host}`, hint: 'the driver may be hung; try `nvidia-smi` in a terminal' } };
  }
  if (result.exitCode !== 0) {
    const said = firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.exitCode}`;
    return { kind: 'error', host, at, error: { message: `nvidia-smi failed on ${host}: ${said}`, hint: 'check that the NVIDIA driver is loaded (`nvidia-smi` in a terminal)' } };
  }
  const query = parseQueryCsv(result.stdout, MONITOR_FIELDS);
  return { kind: 'gpus', host, at, gpus: toGpuSamples(query), problems: query.problems };
}

/** The full `nvidia-smi -q` report of one GPU, verbatim. */
export async function queryGpuReport(runner: Runner, index: number): Promise<{ ok: true; text: string } | { ok: false; error: GpuDevError }> {
  const result = await runner.run(['nvidia-smi', '-q', '-i', String(index)]);
  if (result.exitCode === 0) return { ok: true, text: result.stdout };
  if (result.failure) return { ok: false, error: result.failure };
  const said = result.notFound ? 'nvidia-smi not found' : firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.exitCode}`;
  return { ok: false, error: { message: `nvidia-smi -q failed on ${runner.label}: ${said}` } };
}
