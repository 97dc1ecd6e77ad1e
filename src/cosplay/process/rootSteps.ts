// The steps of a process session that need root — clock lock, power cap, memory clock lock, MIG mode
// and slice: with sudo they are made as a container session with sudo makes them (GpuApply: the
// originals read under the GPU's lock, clashes and other users' work refused, each change journalled
// in root's journal before it is made, with `sudo -n`); without it each is reported with its cost.
import type { GpuDevError } from '../../core/errors';
import type { Runner } from '../../hosts/runner';
import { GpuApply, StepFailure } from '../applyGpu';
import type { BusyProcess } from '../busyGpu';
import { runHostCommand } from '../hostCommands';
import type { HostJournal } from '../hostJournal';
import type { PlannedGpu } from '../multiPlan';
import type { CosplayPlan, HostMutation } from '../planner';

/** What leaving a root-only change out costs, in the plan's terms. */
export function notAppliedNote(mutation: HostMutation, plan: CosplayPlan): string {
  const change = mutation.change;
  const boost = plan.host.boostClockMHz;
  if (change.kind === 'clockLock')
    return `not applied: needs root — ${mutation.description}; FP32 and tensor throughput run at up to ${boost} MHz, about ${(boost / change.mhz).toFixed(2)}× the planned rate`;
  if (change.kind === 'powerCap')
    return `not applied: needs root — ${mutation.description}; the GPU may draw up to its own limit, so sustained clocks stay higher than the target's`;
  if (change.kind === 'memoryClockLock')
    return `not applied: needs root — ${mutation.description}; memory bandwidth stays the host's`;
  return `not applied: needs root — ${mutation.description}`;
}

/**
 * Plans that a process session cannot make: MIG slices without sudo (root makes them), two slices of
 * one GPU (a process sees one MIG device), a plan for another number of GPUs than given (`gpus`: a
 * session of several, as planMultiCosplay plans them).
 */
export function processRefusal(plan: CosplayPlan, sudo = false, gpus?: readonly PlannedGpu[]): GpuDevError | undefined {
  if (plan.chosen.strategy === 'mig' && !sudo)
    return {
      message: 'a MIG slice can only be made by root, and a session without Docker or sudo has neither',
      hint: 'plan with --strategy mps (or memory), or turn sudo on for this host',
    };
  if (gpus?.some((g) => g.slices > 1))
    return {
      message: 'a process session takes one MIG slice per GPU (a process sees one MIG device)',
      hint: 'give each GPU once, or apply in a container',
    };
  const count = gpus?.length ?? 1;
  if (plan.gpuCount !== count)
    return {
      message: `the plan cosplays ${plan.gpuCount} GPUs; ${count === 1 ? 'one was' : `${count} were`} given to apply it on`,
      hint: 'plan the session for its GPUs (gpudev cosplay up --num N)',
    };
  return undefined;
}

/** The plan's changes that need root: every one but the MPS daemon, which the user starts. */
export const rootOnlyMutations = (plan: CosplayPlan): HostMutation[] =>
  plan.mutations.filter((m) => m.change.kind !== 'mpsDaemon');

export interface RootStepsRequest {
  readonly plan: CosplayPlan;
  readonly gpuIndex: number;
  readonly uuid: string;
  /** Every GPU of a session of several, by UUID, in the session's order (each GPU's record names them). */
  readonly sessionGpus?: readonly string[];
  readonly sessionName: string;
  readonly owner: string;
  readonly hostLabel: string;
  /** Asked when other users' processes run on the GPU before its clocks, power or MIG mode change. */
  readonly confirmBusy?: (processes: readonly BusyProcess[]) => Promise<boolean>;
  /** Starts a step (says it). */
  readonly begin: (description: string) => void;
}

/**
 * The session's root-only steps on its GPU, for root's journal (`store`): `prepare` (under the GPU's
 * lock, which the caller holds) reads the originals and refuses clashes, `make` records the session and
 * makes each change with sudo. Its `devices` are then the GPU's UUID, or the MIG device made for it.
 */
export function rootSteps(request: RootStepsRequest, runner: Runner, store: HostJournal): GpuApply {
  const plan = { ...request.plan, mutations: rootOnlyMutations(request.plan) };
  return new GpuApply({ gpuIndex: request.gpuIndex, plan, slices: 1 }, request.uuid, request.sessionGpus ?? [], {
    runner,
    request: {
      sessionName: request.sessionName,
      owner: request.owner,
      hostLabel: request.hostLabel,
      sudo: true,
      ...(request.confirmBusy && { confirmBusy: request.confirmBusy }),
    },
    store,
    begin: request.begin,
    host: async (args) => {
      const done = await runHostCommand(runner, { argv: args }, true);
      if (!done.ok) throw new StepFailure(done.error);
      return done.stdout;
    },
  });
}
