// Whether a plan is applied as a container or as a process session: a container where Docker answers,
// a process session where it does not (as `gpudev cosplay up` chooses), and the user's choice where
// both work. Pure: the caller asks Docker and shows the choice.
import type { GpuDevError } from '../../core/errors';
import type { PlannedGpu } from '../multiPlan';
import type { CosplayPlan } from '../planner';
import { notAppliedNote, processRefusal, rootOnlyMutations } from './rootSteps';

export type ApplyKind = 'container' | 'process';

/** The Apply dialog's buttons for each kind where both work: Apply stays the container's, as it always was. */
export const APPLY_KIND_LABELS: Readonly<Record<ApplyKind, string>> = {
  container: 'Apply',
  process: 'Apply as Processes (no Docker)',
};

export interface ApplyKindFacts {
  readonly hostLabel: string;
  readonly plan: CosplayPlan;
  /** A session of several GPUs (or MIG slices of one), as planMultiCosplay plans them. */
  readonly gpus?: readonly PlannedGpu[];
  readonly sudo: boolean;
  /** Why Docker cannot be used on the host (it did not answer, or answered with an error); undefined when it answers. */
  readonly dockerProblem: string | undefined;
}

export type ApplyKinds =
  | {
      readonly ok: true;
      /** The kinds that work, the default first. */
      readonly kinds: readonly [ApplyKind, ...ApplyKind[]];
      /** Why the choice was made for the user, in a sentence. */
      readonly note?: string;
    }
  | { readonly ok: false; readonly error: GpuDevError };

export function applyKinds(facts: ApplyKindFacts): ApplyKinds {
  const refused = processRefusal(facts.plan, facts.sudo, facts.gpus);
  if (facts.dockerProblem === undefined) return { ok: true, kinds: refused ? ['container'] : ['container', 'process'] };
  const docker = `Docker is not usable on ${facts.hostLabel} (${facts.dockerProblem})`;
  if (refused) return { ok: false, error: { message: `${docker}, and ${refused.message}`, hint: refused.hint } };
  return { ok: true, kinds: ['process'], note: `${docker}: a process session instead` };
}

/** Whether planning for this host should keep to what a process session can make: no Docker and no sudo, so no MIG. */
export const planForProcesses = (dockerProblem: string | undefined, sudo: boolean) =>
  dockerProblem !== undefined && !sudo;

/** What applying as processes does, for the Apply dialog (after "As processes:"): the session, and the root-only steps with sudo or their cost. */
export function processDetail(plan: CosplayPlan, sudo: boolean): string {
  const rootOnly = rootOnlyMutations(plan);
  const root = !rootOnly.length
    ? ''
    : sudo
      ? ` With sudo: ${rootOnly.map((m) => m.description).join('; ')}.`
      : `\n\nWithout root:\n${rootOnly.map((m) => `• ${notAppliedNote(m, plan)}`).join('\n')}`;
  return `An MPS daemon and an sshd of your own on the host, the disguise in every shell of that sshd (Attach opens it).${root}`;
}
