// A host GPU the catalog lacks, made into a catalog entry from what it reports (nvidia-smi query, -q,
// mig -lgip) and the per-SM rates of its architecture; what no report gives is modelled on the
// nearest catalog GPU of the same architecture or measured by a calibration run. Every figure says which.
import { ratesFor, tflops, type Arch, type TensorRate } from '../catalog/arch';
import type { Catalog } from '../catalog/catalog';
import { GpuEntrySchema, MigProfileSchema, type GpuEntry, type MigProfile } from '../catalog/schema';
import type { HostReport, LgipProfile } from '../hosts/nvidiaSmi/hostReport';
import type { CosplayPlan } from './planner';

export type FigureSource = 'reported' | 'measured' | 'modelled';

export interface HostFigure {
  readonly figure: string;
  readonly value: string;
  readonly source: FigureSource;
  /** Where it came from, in a few words. */
  readonly from: string;
}

/** A calibration run's result on this GPU: its SM count, or FP32 TFLOPS at a known locked clock. */
export type SmMeasurement = { readonly smCount: number } | { readonly fp32Tflops: number; readonly clockMHz: number };

export interface HostModel {
  readonly entry: GpuEntry;
  readonly figures: readonly HostFigure[];
}

const ARCH_BY_CC: Readonly<Record<string, Arch>> = {
  '7.0': 'volta',
  '7.5': 'turing',
  '8.0': 'ampere-ga100',
  '8.6': 'ampere',
  '8.7': 'ampere',
  '8.9': 'ada',
  '9.0': 'hopper',
  '10.0': 'blackwell-gb100',
  '10.3': 'blackwell-gb100',
  '12.0': 'blackwell',
  '12.1': 'blackwell',
};

const ccValue = (cc: string) => {
  const [major, minor] = cc.split('.').map(Number);
  return major! * 10 + minor!;
};

/** The architecture whose per-SM rates apply: by compute capability, else the newest known one below it. */
function archOf(report: HostReport): { arch: Arch; source: FigureSource; from: string } {
  const cc = report.query.computeCapability;
  const said = report.q.architecture ? `${report.q.architecture}, ` : '';
  if (cc && ARCH_BY_CC[cc])
    return { arch: ARCH_BY_CC[cc], source: 'reported', from: `${said}compute capability ${cc}` };
  const named = cc ? undefined : archByName(report.q.architecture, report.query.name);
  if (named) return { arch: named, source: 'reported', from: `${said}no compute capability reported` };
  const below = Object.keys(ARCH_BY_CC)
    .filter((known) => !cc || ccValue(known) <= ccValue(cc))
    .sort((a, b) => ccValue(b) - ccValue(a))[0]!;
  return {
    arch: ARCH_BY_CC[below]!,
    source: 'modelled',
    from: `${said}compute capability ${cc ?? 'not reported'}: rates of the newest known one, ${below}`,
  };
}

/** The architecture `-q` names, where the query gave no compute capability (drivers before 510). */
function archByName(architecture: string | null, name: string): Arch | undefined {
  const datacenter = !/GeForce|RTX|TITAN|Quadro/.test(name);
  const byName: Readonly<Record<string, Arch>> = {
    Volta: 'volta',
    Turing: 'turing',
    Ampere: datacenter && /A100|A800|A30\b/.test(name) ? 'ampere-ga100' : 'ampere',
    'Ada Lovelace': 'ada',
    Hopper: 'hopper',
    Blackwell: datacenter ? 'blackwell-gb100' : 'blackwell',
  };
  return architecture ? byName[architecture] : undefined;
}

function tensorRateOf(name: string, arch: Arch): TensorRate {
  const wanted: TensorRate = /GTX/.test(name) ? 'none' : /GeForce|TITAN/.test(name) ? 'half' : 'full';
  if (ratesFor(arch, wanted)) return wanted;
  return (['full', 'half', 'none'] as const).find((rate) => ratesFor(arch, rate))!;
}

/** The catalog GPU of the same architecture closest in memory: the model for what the host does not report. */
function siblingOf(catalog: Catalog, arch: Arch, memoryMiB: number): GpuEntry | undefined {
  return catalog.entries
    .filter((e) => e.arch === arch)
    .sort((a, b) => Math.abs(a.vramMiB - memoryMiB) - Math.abs(b.vramMiB - memoryMiB))[0];
}

/** SMs from an FP32 measurement at a locked clock: TFLOPS = SMs × clock × FLOP/clk/SM. */
export function smCountFromFp32(fp32Tflops: number, clockMHz: number, arch: Arch, tensorRate: TensorRate): number {
  const rate = ratesFor(arch, tensorRate)?.fp32 ?? 0;
  return rate ? Math.round((fp32Tflops * 1e6) / (clockMHz * rate)) : 0;
}

/**
 * Compute slices of the profile ids whose placements migPlacement knows (A100 through B200); a GPU
 * that numbers its profiles otherwise (RTX PRO 6000 Blackwell: 1g.24gb is id 14) is left without them.
 */
const STANDARD_PROFILE_SLICES: Readonly<Record<number, number>> = { 19: 1, 20: 1, 15: 1, 14: 2, 9: 3, 5: 4, 0: 7 };

/** MIG profiles from `-lgip`: memory slices from memory against the whole-GPU profile's eighths. */
export function migProfilesOf(lgip: readonly LgipProfile[]): MigProfile[] {
  const whole = Math.max(0, ...lgip.map((p) => p.memoryMiB));
  return lgip.flatMap((p) => {
    if (STANDARD_PROFILE_SLICES[p.id] !== Number(/^(\d+)g/.exec(p.name)?.[1])) return [];
    const parsed = MigProfileSchema.safeParse({
      name: p.name,
      id: p.id,
      smCount: p.smCount,
      memoryMiB: p.memoryMiB,
      memorySlices: Math.max(1, Math.round((p.memoryMiB / whole) * 8)),
      computeSlices: Number(/^(\d+)g/.exec(p.name)?.[1] ?? 0),
      maxInstances: p.maxInstances,
    });
    return parsed.success ? [parsed.data] : [];
  });
}

function smCountOf(
  profiles: readonly MigProfile[],
  sibling: GpuEntry | undefined,
  arch: Arch,
  tensorRate: TensorRate,
  measured: SmMeasurement | undefined,
): { smCount: number; source: FigureSource; from: string } | undefined {
  if (measured) {
    const smCount =
      'smCount' in measured
        ? measured.smCount
        : smCountFromFp32(measured.fp32Tflops, measured.clockMHz, arch, tensorRate);
    if (smCount > 0) return { smCount, source: 'measured', from: 'a calibration run on this GPU' };
  }
  const whole = [...profiles].sort((a, b) => b.computeSlices - a.computeSlices || b.smCount - a.smCount)[0];
  if (whole)
    return {
      smCount: whole.smCount,
      source: 'reported',
      from: `mig -lgip, the ${whole.name} profile (outside MIG the GPU may have a few more)`,
    };
  if (sibling)
    return { smCount: sibling.smCount, source: 'modelled', from: `as ${sibling.name}; calibrate to measure it` };
  return undefined;
}

/** A catalog entry for the host GPU from its reports; an error only where not even an architecture can be told. */
export function hostModelOf(
  report: HostReport,
  catalog: Catalog,
  measured?: SmMeasurement,
): { ok: true; model: HostModel } | { ok: false; error: string } {
  const { query, q } = report;
  const archFound = archOf(report);
  const { arch } = archFound;
  const tensorRate = tensorRateOf(query.name, arch);
  const rates = ratesFor(arch, tensorRate)!;
  const sibling = siblingOf(catalog, arch, query.memoryMiB);
  const migProfiles = migProfilesOf(report.lgip);
  const sms = smCountOf(migProfiles, sibling, arch, tensorRate, measured);
  if (!sms) return { ok: false, error: `no SM count for ${query.name}: calibrate to measure it` };
  const figures: HostFigure[] = [];
  const note = (figure: string, value: string, source: FigureSource, from: string) =>
    figures.push({ figure, value, source, from });
  note('architecture', `${arch} (${tensorRate} tensor rate)`, archFound.source, archFound.from);
  note('SMs', String(sms.smCount), sms.source, sms.from);
  note('memory', `${query.memoryMiB} MiB`, 'reported', 'memory.total');
  const boost = query.maxSmClockMHz ?? sibling?.boostClockMHz;
  if (!boost) return { ok: false, error: `no maximum SM clock for ${query.name}` };
  note(
    'max SM clock',
    `${boost} MHz`,
    query.maxSmClockMHz ? 'reported' : 'modelled',
    query.maxSmClockMHz ? 'clocks.max.sm' : `as ${sibling!.name}`,
  );
  const tensorClock = sibling?.tensorClockMHz && Math.round((boost * sibling.tensorClockMHz) / sibling.boostClockMHz);
  if (tensorClock)
    note('tensor clock', `${tensorClock} MHz`, 'modelled', `the max clock × ${sibling.name}'s tensor-rated share`);
  const bandwidthGBs = sibling?.bandwidthGBs ?? 0;
  note('memory bandwidth', `${bandwidthGBs} GB/s`, 'modelled', `as ${sibling?.name ?? 'nothing'}: not reported`);
  const tdpW = q.defaultPowerLimitW ?? query.powerLimitW?.max ?? sibling?.tdpW ?? 0;
  note(
    'power',
    `${tdpW} W`,
    q.defaultPowerLimitW || query.powerLimitW ? 'reported' : 'modelled',
    'default power limit',
  );
  note('MIG profiles', migProfiles.map((p) => p.name).join(', ') || 'none', 'reported', 'mig -lgip');
  const at = (rate: number | null, clock: number) => (rate === null ? null : tflops(sms.smCount, clock, rate));
  const tensorAt = tensorClock || boost;
  const candidate = {
    key: `host-${query.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')}`,
    name: query.name,
    aliases: [],
    family: 'Host model (not in the catalog)',
    arch,
    tensorRate,
    computeCapability: query.computeCapability ?? sibling?.computeCapability ?? '0.0',
    smCount: sms.smCount,
    vramMiB: query.memoryMiB,
    memoryType: sibling?.memoryType ?? 'unknown',
    bandwidthGBs: bandwidthGBs || 1,
    baseClockMHz: null,
    boostClockMHz: boost,
    ...(tensorClock && { tensorClockMHz: tensorClock }),
    fp32Tflops: at(rates.fp32, boost)!,
    fp16Fp32Acc: at(rates.fp16Fp32Acc, tensorAt),
    bf16Fp32Acc: at(rates.bf16Fp32Acc, tensorAt),
    tf32: at(rates.tf32, tensorAt),
    fp8: at(rates.fp8, tensorAt),
    tdpW: tdpW || 1,
    hasEcc: q.eccEnabled !== null,
    l2MiB: null,
    sources: ['https://docs.nvidia.com/deploy/nvidia-smi/index.html'],
    unverified: figures.filter((f) => f.source !== 'reported').map((f) => f.figure),
    host: { migProfiles, powerLimitW: query.powerLimitW, clockRangeMHz: null },
  };
  const parsed = GpuEntrySchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, error: `${query.name}: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  return { ok: true, model: { entry: parsed.data, figures } };
}

/** One line per figure, for the plan's text and view: which were reported, measured or modelled. */
export function hostModelNotes(model: HostModel): string[] {
  return [
    `${model.entry.name} is not in the catalog: planned from what it reports, each figure marked`,
    ...model.figures.map((f) => `host ${f.figure}: ${f.value} — ${f.source} (${f.from})`),
  ];
}

/** The plan with `notes` (a host model's figures, MIG profiles only the GPU reported) said first among its warnings. */
export function withPlanNotes(plan: CosplayPlan, notes: readonly string[]): CosplayPlan {
  return notes.length ? { ...plan, warnings: [...notes, ...plan.warnings] } : plan;
}

/**
 * A catalog host with the MIG profiles its GPU reports and the catalog lacks (no source gave them):
 * the entry as it is when the report adds nothing.
 */
export function withReportedMigProfiles(
  entry: GpuEntry,
  lgip: readonly LgipProfile[],
): { entry: GpuEntry; added: readonly string[] } {
  const known = entry.host?.migProfiles ?? [];
  const added = migProfilesOf(lgip).filter((p) => !known.some((k) => k.name === p.name));
  if (!entry.host || added.length === 0) return { entry, added: [] };
  return {
    entry: { ...entry, host: { ...entry.host, migProfiles: [...known, ...added] } },
    added: added.map((p) => p.name),
  };
}

/** Whether the catalog's MIG profiles of a host may be incomplete: none listed, or no whole-GPU (7g, 4g on RTX PRO) one. */
export function migProfilesIncomplete(entry: GpuEntry): boolean {
  const whole = entry.host?.migLayout?.computeSlices ?? 7;
  return !!entry.host && !entry.host.migProfiles.some((p) => p.computeSlices === whole);
}
