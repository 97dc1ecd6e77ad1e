import type { GpuDevError } from '../core/errors';
import type { GpuSample } from './gpu';
import {
  hostModelQueryArgs,
  parseHostModelQuery,
  parseLgip,
  parseQReport,
  type HostReport,
} from './nvidiaSmi/hostReport';
import {
  MONITOR_FIELDS,
  monitorQueryArgs,
  parseQueryCsv,
  PROCESS_FIELDS,
  processQueryArgs,
  toGpuProcesses,
  toGpuSamples,
} from './nvidiaSmi/queryCsv';
import { LOCAL_HOST, type RunResult, type Runner } from './runner';

export type ProbeResult =
  | {
      readonly kind: 'gpus';
      readonly host: string;
      readonly gpus: GpuSample[];
      readonly problems: readonly string[];
      readonly at: number;
    }
  | { readonly kind: 'no-driver'; readonly host: string; readonly error: GpuDevError; readonly at: number }
  | {
      readonly kind: 'error';
      readonly host: string;
      readonly error: GpuDevError;
      readonly at: number;
      readonly untrustedHostKey?: RunResult['untrustedHostKey'];
      readonly retry?: false;
    };

/** A probe that listed GPUs. */
export type GpusResult = Extract<ProbeResult, { kind: 'gpus' }>;

function firstLine(text: string): string {
  return text.trim().split(/\r?\n/)[0]?.slice(0, 300) ?? '';
}

export interface ProbeOptions {
  /** Also read compute processes (a second query). */
  readonly processes?: boolean;
  /** A sample just streamed: only the processes are read, for these GPUs. */
  readonly fresh?: GpusResult;
}

/** Samples every GPU of a host with one nvidia-smi query (and their processes with a second when asked). Never throws: failures are values. */
export async function probeGpus(
  runner: Runner,
  options: ProbeOptions = {},
  now: () => number = Date.now,
): Promise<ProbeResult> {
  const host = runner.label;
  const [result, apps] = await Promise.all([
    options.fresh ? undefined : runner.run(['nvidia-smi', ...monitorQueryArgs()]),
    options.processes || options.fresh ? runner.run(['nvidia-smi', ...processQueryArgs()]) : undefined,
  ]);
  const at = now();
  if (!result) return withProcesses({ ...options.fresh!, problems: [] }, apps!, at);
  const failed = failure(result, host, at);
  if (failed) return failed;
  const query = parseQueryCsv(result.stdout, MONITOR_FIELDS);
  const sample = { kind: 'gpus' as const, host, at, gpus: toGpuSamples(query), problems: query.problems };
  return apps ? withProcesses(sample, apps, at) : sample;
}

/** The GPUs of a sample with their processes, tied by PCI bus id: an unreachable host fails the probe, a query nvidia-smi refuses is only a problem. */
function withProcesses(sample: GpusResult, apps: RunResult, at: number): ProbeResult {
  if (apps.failure) return failure(apps, sample.host, at)!;
  if (apps.exitCode !== 0)
    return {
      ...sample,
      problems: [
        ...sample.problems,
        `compute processes not read: ${firstLine(apps.stderr) || `exit code ${apps.exitCode}`}`,
      ],
    };
  const appQuery = parseQueryCsv(apps.stdout, PROCESS_FIELDS);
  const processes = toGpuProcesses(appQuery);
  const gpus = sample.gpus.map((gpu) => ({
    ...gpu,
    processes: processes.filter((p) => p.busId !== null && p.busId === gpu.busId).map(({ busId: _, ...p }) => p),
  }));
  return { ...sample, gpus, problems: [...sample.problems, ...appQuery.problems] };
}

/** What a failed nvidia-smi run means, or undefined when it answered. */
function failure(result: RunResult, host: string, at: number): ProbeResult | undefined {
  if (result.failure) {
    const { untrustedHostKey, retryable } = result;
    return {
      kind: 'error',
      host,
      at,
      error: result.failure,
      ...(untrustedHostKey && { untrustedHostKey }),
      ...(retryable === false && { retry: false as const }),
    };
  }
  if (result.notFound) {
    return {
      kind: 'no-driver',
      host,
      at,
      error: {
        message: 'No NVIDIA GPU: nvidia-smi not found',
        hint: `install the NVIDIA driver on ${host === LOCAL_HOST ? 'this machine' : host}`,
      },
    };
  }
  if (result.timedOut) {
    return {
      kind: 'error',
      host,
      at,
      error: {
        message: `nvidia-smi did not answer on ${host}`,
        hint: 'the driver may be hung; try `nvidia-smi` in a terminal',
      },
    };
  }
  if (result.exitCode !== 0) {
    const said = firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.exitCode}`;
    return {
      kind: 'error',
      host,
      at,
      error: {
        message: `nvidia-smi failed on ${host}: ${said}`,
        hint: 'check that the NVIDIA driver is loaded (`nvidia-smi` in a terminal)',
      },
    };
  }
  return undefined;
}

/** The full `nvidia-smi -q` report of one GPU, verbatim. */
export async function queryGpuReport(
  runner: Runner,
  index: number,
): Promise<{ ok: true; text: string } | { ok: false; error: GpuDevError }> {
  const result = await runner.run(['nvidia-smi', '-q', '-i', String(index)]);
  if (result.exitCode === 0) return { ok: true, text: result.stdout };
  if (result.failure) return { ok: false, error: result.failure };
  const said = result.notFound
    ? 'nvidia-smi not found'
    : firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.exitCode}`;
  return { ok: false, error: { message: `nvidia-smi -q failed on ${runner.label}: ${said}` } };
}

/**
 * What GPU `index` reports of its model (query, `-q`, `mig -lgip`), for planning on a GPU the catalog
 * lacks. A GPU without MIG answers `mig -lgip` with an error: then it has no profiles.
 */
export async function queryHostReport(
  runner: Runner,
  index: number,
): Promise<{ ok: true; report: HostReport } | { ok: false; error: GpuDevError }> {
  const [query, full, lgip] = await Promise.all([
    runner.run(['nvidia-smi', ...hostModelQueryArgs(index)]),
    queryGpuReport(runner, index),
    runner.run(['nvidia-smi', 'mig', '-lgip', '-i', String(index)]),
  ]);
  if (query.failure) return { ok: false, error: query.failure };
  const parsed = query.exitCode === 0 ? parseHostModelQuery(query.stdout) : undefined;
  if (!parsed?.ok) {
    const said = parsed?.error ?? (firstLine(query.stderr) || firstLine(query.stdout) || `exit code ${query.exitCode}`);
    return { ok: false, error: { message: `nvidia-smi --query-gpu failed on ${runner.label}: ${said}` } };
  }
  if (!full.ok) return full;
  const profiles = lgip.exitCode === 0 ? parseLgip(lgip.stdout, index) : [];
  return { ok: true, report: { query: parsed.query, q: parseQReport(full.text), lgip: profiles } };
}
