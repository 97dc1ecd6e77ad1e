import { ratesFor } from '../catalog/arch';
import type { GpuEntry, MigProfile } from '../catalog/schema';
import type { GpuDevError } from '../core/errors';
import type { MigInstance } from '../hosts/nvidiaSmi/migInstances';
import { fidelityTable, TOLERANCE, type Delivered, type FidelityRow } from './fidelity';
import { migSliceFor, sliceBandwidthGBs } from './migPlacement';
import { envFor, mutationsFor } from './planSteps';
import { predictThroughput } from './roofline';

export const STRATEGIES = ['mig', 'mps', 'memory'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** A cosplay session already live on the GPU, as its container labels describe it. */
export interface LiveSession {
  readonly name: string;
  readonly clockLockMHz: number | null;
  readonly powerCapW: number | null;
  readonly memoryClockShare?: number | null;
}

export interface PlanRequest {
  readonly target: GpuEntry;
  readonly host: GpuEntry;
  readonly strategy?: Strategy;
  /** GPUs to cosplay (multi-GPU cosplay gives every one the same settings) and GPUs the host has. */
  readonly gpuCount?: number;
  readonly hostGpuCount?: number;
  readonly liveSessions?: readonly LiveSession[];
  /** The GPU's MIG state as nvidia-smi reports it; absent means MIG off and no instances. */
  readonly hostMig?: { readonly enabled: boolean; readonly instances: readonly MigInstance[] };
}

/** A program run by argv (never a shell); `{gpu}`-style placeholders are filled in when applied. */
export interface HostCommand {
  readonly argv: readonly string[];
  readonly stdin?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** A host change as planned: what apply journals and makes (values read from the host come then). */
export type PlannedChange =
  | { readonly kind: 'persistence' | 'migMode' | 'mpsDaemon' }
  | { readonly kind: 'gpuInstance'; readonly profile: string; readonly profileId: number; readonly start: number }
  | { readonly kind: 'clockLock'; readonly mhz: number }
  | { readonly kind: 'memoryClockLock'; readonly percent: number }
  | { readonly kind: 'powerCap'; readonly watts: number };

/** One change to the host, with the commands shown for it (placeholders for what apply reads then). */
export interface HostMutation {
  readonly description: string;
  readonly change: PlannedChange;
  readonly run: HostCommand;
  readonly undo: readonly HostCommand[];
  /** Shared by every session on the GPU (clocks, power, MIG mode). */
  readonly gpuWide: boolean;
}

export interface StrategyOption {
  readonly strategy: Strategy;
  readonly migProfile: MigProfile | null;
  /** Memory-slice start of the MIG instance to create. */
  readonly migStart: number | null;
  /** CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, or null without MPS. */
  readonly mpsThreadPercent: number | null;
  readonly clockLockMHz: number | null;
  /** Share of the host's maximum memory clock to lock to (GDDR hosts on Ampere or newer), or null. */
  readonly memoryClockShare: number | null;
  readonly delivered: Delivered;
  readonly fp32Reachable: boolean;
}

export interface CosplayPlan {
  readonly target: GpuEntry;
  readonly host: GpuEntry;
  readonly gpuCount: number;
  readonly chosen: StrategyOption;
  readonly alternatives: readonly StrategyOption[];
  readonly powerCapW: number | null;
  readonly mutations: readonly HostMutation[];
  /** Container settings: the device to pass in ({gpu-uuid} or {mig-uuid}, filled in when applied) and its environment. */
  readonly container: { readonly device: string; readonly env: Readonly<Record<string, string>> };
  readonly fidelity: readonly FidelityRow[];
  readonly warnings: readonly string[];
}

export type PlanResult =
  { readonly ok: true; readonly plan: CosplayPlan } | { readonly ok: false; readonly error: GpuDevError };

/** nvidia-smi lists supported graphics clocks in 15 MHz steps. */
const CLOCK_STEP_MHZ = 15;
const gib = (mib: number) => `${(mib / 1024).toFixed(mib % 1024 ? 1 : 0)} GiB`;
const refuse = (message: string, hint?: string): PlanResult => ({ ok: false, error: { message, hint } });

function fp32Rate(host: GpuEntry): number {
  return ratesFor(host.arch, host.tensorRate)!.fp32!;
}

/**
 * The clock lock (15 MHz steps) that brings `smCount` SMs to the target's FP32: null when the
 * host must run at full clock for it (or cannot reach it even then).
 */
function clockForFp32(target: GpuEntry, host: GpuEntry, smCount: number): number | null {
  const exact = (target.fp32Tflops * 1e6) / (smCount * fp32Rate(host));
  const step = Math.round(exact / CLOCK_STEP_MHZ) * CLOCK_STEP_MHZ;
  return step >= host.boostClockMHz ? null : step;
}

function option(
  request: PlanRequest,
  strategy: Strategy,
  smCount: number,
  mig: { profile: MigProfile; start: number } | null,
  mpsThreadPercent: number | null,
  lockClock: boolean,
): StrategyOption {
  const { target, host } = request;
  const lock = lockClock ? clockForFp32(target, host, smCount) : null;
  const throughput = predictThroughput(host, { smCount, clockMHz: lock ?? undefined });
  const sliceBandwidth = mig ? sliceBandwidthGBs(host, mig.profile) : host.bandwidthGBs;
  const memoryClockShare = lockClock ? memoryClockShareFor(target, host, sliceBandwidth) : null;
  const bandwidthGBs = memoryClockShare === null ? sliceBandwidth : target.bandwidthGBs;
  const delivered: Delivered = {
    vramMiB: target.vramMiB,
    smCount,
    throughput,
    bandwidthGBs,
    powerW: powerCap(target, host) ?? host.tdpW,
  };
  return {
    strategy,
    migProfile: mig?.profile ?? null,
    migStart: mig?.start ?? null,
    mpsThreadPercent,
    clockLockMHz: lock,
    memoryClockShare,
    delivered,
    fp32Reachable: throughput.fp32! >= target.fp32Tflops * (1 - TOLERANCE),
  };
}

/** Memory clocks can be locked on Ampere and newer (NVML), and only GDDR boards offer more than one. */
const MEMORY_LOCK_ARCHS = new Set(['ampere', 'ada', 'blackwell']);

function memoryClockShareFor(target: GpuEntry, host: GpuEntry, bandwidthGBs: number): number | null {
  if (!MEMORY_LOCK_ARCHS.has(host.arch) || !host.memoryType.startsWith('GDDR')) return null;
  const share = target.bandwidthGBs / bandwidthGBs;
  return share < 1 - TOLERANCE ? Math.round(share * 100) / 100 : null;
}

function powerCap(target: GpuEntry, host: GpuEntry): number | null {
  const range = host.host?.powerLimitW;
  return range ? Math.min(range.max, Math.max(range.min, target.tdpW)) : null;
}

function candidates(request: PlanRequest): StrategyOption[] {
  const { target, host } = request;
  const options: StrategyOption[] = [];
  const mig = migSliceFor(host, target, request.hostMig?.instances ?? []);
  if (mig) options.push(option(request, 'mig', mig.profile.smCount, mig, null, true));
  // Without a MIG instance no CUDA work runs on a GPU in MIG mode.
  if (request.hostMig?.enabled) return options;
  const neededSms = (target.fp32Tflops * 1e6) / (host.boostClockMHz * fp32Rate(host));
  const percent = Math.min(100, Math.max(1, Math.ceil((100 * neededSms) / host.smCount)));
  options.push(option(request, 'mps', Math.round((host.smCount * percent) / 100), null, percent, true));
  options.push(option(request, 'memory', host.smCount, null, null, false));
  return options;
}

/** Prefers reaching the target's FP32, else coming closest to it; then isolation: MIG over MPS over a memory cap alone. */
function choose(options: StrategyOption[]): StrategyOption {
  const fp32 = (o: StrategyOption) => (o.fp32Reachable ? Infinity : o.delivered.throughput.fp32!);
  return [...options].sort(
    (a, b) => fp32(b) - fp32(a) || STRATEGIES.indexOf(a.strategy) - STRATEGIES.indexOf(b.strategy),
  )[0]!;
}

type GpuWideSettings = Omit<LiveSession, 'name'>;

/** The first live session whose GPU-wide settings differ from `settings` (both set, different values). */
export function clashingSession(settings: GpuWideSettings, sessions: readonly LiveSession[]): LiveSession | undefined {
  const differ = (mine: number | null | undefined, theirs: number | null | undefined) =>
    mine != null && theirs != null && mine !== theirs;
  return sessions.find(
    (s) =>
      differ(settings.clockLockMHz, s.clockLockMHz) ||
      differ(settings.powerCapW, s.powerCapW) ||
      differ(settings.memoryClockShare, s.memoryClockShare),
  );
}

export function clashError(session: LiveSession): GpuDevError {
  return {
    message: `session "${session.name}" on this GPU already set clocks ${session.clockLockMHz === null ? 'unlocked' : `${session.clockLockMHz} MHz`} / power ${session.powerCapW === null ? 'default' : `${session.powerCapW} W`}`,
    hint: 'these are shared by every session on the GPU: stop that session or pick another GPU',
  };
}

/** Plans a cosplay of `target` on `host`, or says plainly why it cannot be done. Pure: changes nothing. */
export function planCosplay(request: PlanRequest): PlanResult {
  const { target, host } = request;
  const gpuCount = request.gpuCount ?? 1;
  if (!Number.isInteger(gpuCount) || gpuCount < 1)
    return refuse(`GPU count must be a whole number of at least 1, not ${gpuCount}`);
  if (request.hostGpuCount !== undefined && gpuCount > request.hostGpuCount) {
    return refuse(
      `${gpuCount} GPUs requested; the host has ${request.hostGpuCount}`,
      'ask for fewer GPUs or pick a bigger host',
    );
  }
  if (target.vramMiB > host.vramMiB) {
    return refuse(
      `${target.name} needs ${gib(target.vramMiB)}; host ${host.name} has ${gib(host.vramMiB)}`,
      'pick a host with more memory',
    );
  }
  if (request.strategy === 'mig' && !host.host?.migProfiles.length) {
    return host.unverified.some((u) => u.startsWith('host.migProfiles'))
      ? refuse(
          `MIG requested on host ${host.name}, whose MIG profiles no source lists`,
          'plan on the host itself, where its GPU reports them (nvidia-smi mig -lgip), or use --strategy mps or memory',
        )
      : refuse(`MIG requested on host ${host.name}, which has no MIG`, 'use --strategy mps or memory');
  }
  if (request.hostMig?.enabled && request.strategy && request.strategy !== 'mig') {
    return refuse(
      `MIG mode is on for this ${host.name}: ${request.strategy} needs a GPU without MIG`,
      'use --strategy mig, or turn MIG off first',
    );
  }
  const options = candidates(request);
  const allowed = request.strategy ? options.filter((o) => o.strategy === request.strategy) : options;
  if (allowed.length === 0) {
    const taken = request.hostMig?.instances.length
      ? ` free (${request.hostMig.instances.map((i) => i.profile).join(', ')} already there)`
      : '';
    return refuse(
      `no MIG profile of ${host.name} with the ${gib(target.vramMiB)} ${target.name} needs is${taken || ' available'}`,
      request.hostMig?.enabled ? 'free MIG instances or pick another GPU' : 'use --strategy mps',
    );
  }
  const chosen = choose(allowed);
  const powerCapW = powerCap(target, host);
  const mutations = mutationsFor(request, chosen, powerCapW);
  const clash = clashingSession(
    { clockLockMHz: chosen.clockLockMHz, powerCapW, memoryClockShare: chosen.memoryClockShare },
    request.liveSessions ?? [],
  );
  if (clash) return { ok: false, error: clashError(clash) };
  const warnings = [
    ...(!chosen.fp32Reachable
      ? [`FP32 cannot reach ${target.fp32Tflops} TFLOPS with ${chosen.strategy} on ${host.name}`]
      : []),
    ...(chosen.strategy === 'memory' ? ["memory cap only: compute runs at the host's full speed"] : []),
    ...(chosen.mpsThreadPercent !== null
      ? ['MPS limits are silently ignored when no MPS daemon is reachable: verify checks them']
      : []),
  ];
  return {
    ok: true,
    plan: {
      target,
      host,
      gpuCount,
      chosen,
      alternatives: options.filter((o) => o !== chosen),
      powerCapW,
      mutations,
      container: {
        device: chosen.migProfile ? '{mig-uuid}' : '{gpu-uuid}',
        env: envFor(target, chosen, powerCapW, gpuCount),
      },
      fidelity: fidelityTable(target, host, chosen.delivered),
      warnings,
    },
  };
}
