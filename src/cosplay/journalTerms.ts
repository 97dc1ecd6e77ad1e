// A plan in the host journal's terms: the settings a GPU has once it is applied, each planned change
// with the values read from the host just before, and the plan as the journal keeps it. Pure.
import type { Change } from './changes';
import type { GpuWideSettings } from './journal';
import type { CosplayPlan, HostMutation } from './planner';
import { expectedOf, type SessionPlan } from './session';

/** The GPU-wide settings the GPU has once this plan is applied: what a session sharing it must also have. */
export function wantedSettings(plan: CosplayPlan, memoryClockMHz: number | null): GpuWideSettings {
  const planned = (kind: string) => plan.mutations.find((m) => m.change.kind === kind)?.change;
  const power = planned('powerCap');
  return {
    mig: plan.chosen.strategy === 'mig',
    clockLockMHz: plan.chosen.clockLockMHz,
    memoryClockMHz,
    powerCapW: power?.kind === 'powerCap' ? power.watts : null,
  };
}

export function concreteChange(
  mutation: HostMutation,
  read: { persistence: boolean; migMode: boolean; originalWatts: number; memoryMHz: number | null; mpsFolder: string },
): Change {
  const planned = mutation.change;
  switch (planned.kind) {
    case 'persistence':
      return { kind: 'persistence', originalEnabled: read.persistence };
    case 'migMode':
      return { kind: 'migMode', originalEnabled: read.migMode };
    case 'mpsDaemon':
      return { kind: 'mpsDaemon', folder: read.mpsFolder };
    case 'gpuInstance':
      return { kind: 'gpuInstance', profile: planned.profile, profileId: planned.profileId, start: planned.start };
    case 'clockLock':
      return { kind: 'clockLock', mhz: planned.mhz };
    case 'memoryClockLock':
      return { kind: 'memoryClockLock', mhz: read.memoryMHz! };
    case 'powerCap':
      return { kind: 'powerCap', watts: planned.watts, originalWatts: read.originalWatts };
  }
}

export function sessionPlanOf(plan: CosplayPlan, uuid: string): SessionPlan {
  return {
    target: plan.target.key,
    targetName: plan.target.name,
    host: plan.host.key,
    strategy: plan.chosen.strategy,
    gpuUuid: uuid,
    device: null,
    vramMiB: plan.target.vramMiB,
    clockLockMHz: plan.chosen.clockLockMHz,
    powerCapW: plan.powerCapW,
    memoryClockShare: plan.chosen.memoryClockShare,
    boostClockMHz: plan.host.boostClockMHz,
    expected: expectedOf(plan),
  };
}
