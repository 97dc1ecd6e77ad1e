// Multi-GPU cosplay: one plan per host GPU of the session (the same GPU listed twice means two MIG
// slices of it), each planned against that GPU's own MIG state and sessions, all with the same
// settings, and the interconnect the target pair would have against what the host gives. Pure.
import type { GpuDevError } from '../core/errors';
import type { MigInstance } from '../hosts/nvidiaSmi/migInstances';
import { interconnectRow, MIG_GUIDE } from './interconnect';
import { planCosplay, type CosplayPlan, type HostMutation, type LiveSession, type PlanRequest } from './planner';

/** A host GPU the session asks for, with what the planner must know of it. */
export interface GpuSlot {
  readonly index: number;
  readonly hostMig?: PlanRequest['hostMig'];
  readonly liveSessions?: readonly LiveSession[];
}

/** One host GPU of a session: its plan (every MIG slice of it among the plan's mutations) and how many target GPUs it gives. */
export interface PlannedGpu {
  readonly gpuIndex: number;
  readonly plan: CosplayPlan;
  readonly slices: number;
}

export type MultiPlanResult =
  | { readonly ok: true; readonly gpus: readonly PlannedGpu[]; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: GpuDevError };

export const ONE_MIG_DEVICE_PER_PROCESS = `one CUDA process sees only the first MIG device of a container (NVIDIA MIG user guide: a single CUDA process can only enumerate a single MIG device, ${MIG_GUIDE}): run one process per slice, each with CUDA_VISIBLE_DEVICES set to its MIG UUID`;

/**
 * Plans `base` for the host GPUs in `slots`, in that order; an index listed more than once asks for
 * that many MIG slices of the GPU. Every GPU must come out with the same strategy and GPU-wide
 * settings (the shim shows N identical target GPUs), else it says which GPU differs and why.
 */
export function planMultiCosplay(
  base: Omit<PlanRequest, 'gpuCount' | 'hostMig' | 'liveSessions'>,
  slots: readonly GpuSlot[],
): MultiPlanResult {
  // Several whole GPUs and no strategy asked for: MPS before MIG, so that one process sees every GPU.
  const distinct = new Set(slots.map((s) => s.index)).size === slots.length;
  if (!base.strategy && slots.length > 1 && distinct && !slots.some((s) => s.hostMig?.enabled)) {
    const mps = planSlots({ ...base, strategy: 'mps' }, slots);
    const any = planSlots(base, slots);
    if (mps.ok && any.ok && any.gpus[0]!.plan.chosen.migProfile) return withWarning(mps, MPS_OVER_MIG);
    if (any.ok || !mps.ok) return any;
    return mps;
  }
  return planSlots(base, slots);
}

const MPS_OVER_MIG =
  'MPS rather than MIG for several GPUs: one CUDA process sees only one MIG device; --strategy mig for MIG instances (one process per GPU)';

function withWarning(result: Extract<MultiPlanResult, { ok: true }>, warning: string): MultiPlanResult {
  return {
    ...result,
    gpus: result.gpus.map((g) => ({ ...g, plan: { ...g.plan, warnings: [...g.plan.warnings, warning] } })),
    warnings: [...result.warnings, warning],
  };
}

function planSlots(
  base: Omit<PlanRequest, 'gpuCount' | 'hostMig' | 'liveSessions'>,
  slots: readonly GpuSlot[],
): MultiPlanResult {
  const refuse = (message: string, hint?: string): MultiPlanResult => ({ ok: false, error: { message, hint } });
  if (slots.length === 0) return refuse('no GPU to cosplay');
  const gpuCount = slots.length;
  const planned = new Map<number, PlannedGpu>();
  const placed = new Map<number, MigInstance[]>();
  for (const slot of slots) {
    const earlier = planned.get(slot.index);
    if (earlier && !earlier.plan.chosen.migProfile)
      return refuse(
        `GPU ${slot.index} is listed ${slots.filter((s) => s.index === slot.index).length} times: several target GPUs from one GPU need MIG slices, and its plan uses ${earlier.plan.chosen.strategy}`,
        'give --strategy mig on a host with MIG, or list different GPUs',
      );
    const extra = placed.get(slot.index) ?? [];
    const result = planCosplay({
      ...base,
      gpuCount,
      ...(earlier && { strategy: 'mig' }),
      hostMig: {
        enabled: (slot.hostMig?.enabled ?? false) || extra.length > 0,
        instances: [...(slot.hostMig?.instances ?? []), ...extra],
      },
      liveSessions: slot.liveSessions ?? [],
    });
    if (!result.ok)
      return {
        ok: false,
        error: {
          message: `GPU ${slot.index}${earlier ? ` (slice ${earlier.slices + 1})` : ''}: ${result.error.message}`,
          hint: result.error.hint ?? (earlier ? 'ask for fewer slices of this GPU' : undefined),
        },
      };
    const plan = result.plan;
    const first = planned.values().next().value?.plan;
    if (first && differs(first, plan))
      return refuse(
        `${earlier ? `slice ${earlier.slices + 1} of GPU ${slot.index}` : `GPU ${slot.index}`} would get ${settingsText(plan)}, GPU ${slots[0]!.index} ${settingsText(first)}: a session's GPUs must all be cosplayed alike`,
        earlier
          ? 'ask for fewer slices, or free MIG instances on that GPU'
          : 'pick GPUs in the same MIG state, or give --strategy',
      );
    const instance = plan.mutations.find((m) => m.change.kind === 'gpuInstance');
    if (instance?.change.kind === 'gpuInstance' && plan.chosen.migProfile)
      placed.set(slot.index, [
        ...extra,
        {
          gpu: slot.index,
          profile: instance.change.profile,
          profileId: instance.change.profileId,
          instanceId: -1 - extra.length,
          start: instance.change.start,
          size: plan.chosen.migProfile.memorySlices,
        },
      ]);
    planned.set(
      slot.index,
      earlier
        ? { ...earlier, plan: withMutations(earlier.plan, [instance!]), slices: earlier.slices + 1 }
        : { gpuIndex: slot.index, plan, slices: 1 },
    );
  }
  const gpus = [...planned.values()];
  const withRow = gpus.map((g) => ({
    ...g,
    plan:
      gpuCount > 1
        ? {
            ...g.plan,
            fidelity: [
              ...g.plan.fidelity,
              interconnectRow(g.plan.target, g.plan.host, g.plan.chosen.migProfile !== null),
            ],
          }
        : g.plan,
  }));
  const mig = gpus[0]!.plan.chosen.migProfile !== null;
  const warnings = gpuCount > 1 && mig ? [ONE_MIG_DEVICE_PER_PROCESS] : [];
  return {
    ok: true,
    gpus: withRow.map((g) => ({ ...g, plan: { ...g.plan, warnings: [...g.plan.warnings, ...warnings] } })),
    warnings,
  };
}

function differs(a: CosplayPlan, b: CosplayPlan): boolean {
  return (
    a.chosen.strategy !== b.chosen.strategy ||
    a.chosen.clockLockMHz !== b.chosen.clockLockMHz ||
    a.chosen.memoryClockShare !== b.chosen.memoryClockShare ||
    a.chosen.mpsThreadPercent !== b.chosen.mpsThreadPercent ||
    a.chosen.migProfile?.name !== b.chosen.migProfile?.name ||
    a.powerCapW !== b.powerCapW
  );
}

function settingsText(plan: CosplayPlan): string {
  const { chosen } = plan;
  return [
    chosen.migProfile ? `MIG ${chosen.migProfile.name}` : chosen.strategy,
    chosen.clockLockMHz === null ? 'clocks unlocked' : `clocks ${chosen.clockLockMHz} MHz`,
    plan.powerCapW === null ? 'power as it is' : `power ${plan.powerCapW} W`,
  ].join(', ');
}

function withMutations(plan: CosplayPlan, more: readonly HostMutation[]): CosplayPlan {
  return { ...plan, mutations: [...plan.mutations, ...more] };
}

/**
 * The host GPUs `--gpu`/`--num` name: an explicit comma list (an index twice: two MIG slices of it),
 * or `count` GPUs from `first` on. A sentence when they do not fit together.
 */
export function gpuIndicesOf(list: string | undefined, count: string | undefined): number[] | string {
  const num = count === undefined ? undefined : Number(count);
  if (num !== undefined && !(Number.isInteger(num) && num >= 1 && num <= 64))
    return `--num must be a whole number from 1 to 64, not ${count}`;
  const parts = (list ?? '0').split(',').map((p) => p.trim());
  const indices = parts.map(Number);
  if (parts.some((p, i) => p === '' || !Number.isInteger(indices[i]) || indices[i]! < 0))
    return `--gpu takes GPU indices separated by commas (0 or 0,1; an index twice for two MIG slices of it), not ${list}`;
  if (indices.length === 1 && num !== undefined) return Array.from({ length: num }, (_, i) => indices[0]! + i);
  if (num !== undefined && num !== indices.length)
    return `--num ${num} does not match the ${indices.length} GPUs --gpu ${list} names`;
  return indices;
}
