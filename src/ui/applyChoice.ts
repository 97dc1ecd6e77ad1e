// Apply in a container or as processes: Docker asked on the host, the kinds that work (a process
// session where Docker does not answer), and the choice between them where both do.
import * as vscode from 'vscode';
import type { PlannedGpu } from '../cosplay/multiPlan';
import type { CosplayPlan } from '../cosplay/planner';
import { APPLY_KIND_LABELS, applyKinds, type ApplyKind, type ApplyKinds } from '../cosplay/process/applyKind';
import type { Session } from '../cosplay/session';
import { describeError } from '../core/errors';
import { DockerFailure } from '../hosts/docker';
import { applyPlan, type ApplyContext, type ApplyTarget } from './applyCosplay';
import { applyProcessPlan } from './applyProcess';

export interface DockerOnHost {
  /** Why Docker cannot be used there; undefined when it answers. */
  readonly problem: string | undefined;
  /** The host's sudo setting. */
  readonly sudo: boolean;
}

export async function dockerOn(context: ApplyContext, hostName: string): Promise<DockerOnHost | string> {
  const host = await context.sessions.host(hostName);
  if (typeof host === 'string') return host;
  const problem = await host.docker.ping().then(
    () => undefined,
    (error: unknown) =>
      error instanceof DockerFailure ? error.failure.message : error instanceof Error ? error.message : String(error),
  );
  return { problem, sudo: host.sudo };
}

export function kindsOf(
  plan: CosplayPlan,
  on: ApplyTarget,
  docker: DockerOnHost | string,
  gpus?: readonly PlannedGpu[],
): ApplyKinds {
  if (typeof docker === 'string') return { ok: false, error: { message: docker } };
  return applyKinds({
    hostLabel: on.host,
    plan,
    ...(gpus && { gpus }),
    sudo: docker.sudo,
    dockerProblem: docker.problem,
  });
}

/** The kind a button of the Apply dialog names ('Apply': the only one). */
export function kindOf(kinds: readonly ApplyKind[], button: string | undefined): ApplyKind | undefined {
  if (button === 'Apply') return kinds[0];
  return kinds.find((kind) => APPLY_KIND_LABELS[kind] === button);
}

/** The Apply dialog's buttons: one Apply, or one per kind when both work. */
export const applyButtons = (kinds: readonly ApplyKind[]) =>
  kinds.length > 1 ? kinds.map((kind) => APPLY_KIND_LABELS[kind]) : ['Apply'];

export function applyAs(
  kind: ApplyKind,
  context: ApplyContext,
  plan: CosplayPlan,
  on: ApplyTarget,
  gpus?: readonly PlannedGpu[],
): Promise<Session | undefined> {
  return kind === 'process' ? applyProcessPlan(context, plan, on, gpus) : applyPlan(context, plan, on, gpus);
}

/**
 * The plan panel's Apply: Docker asked again (it may have changed); a container where it answers, as the
 * panel's note says, else a process session. The choice of both is the Apply Cosplay… dialog's.
 */
export async function applyChosen(
  context: ApplyContext,
  plan: CosplayPlan,
  on: ApplyTarget,
  gpus?: readonly PlannedGpu[],
): Promise<Session | undefined> {
  const docker = await dockerOn(context, on.host);
  const kinds = kindsOf(plan, on, docker, gpus);
  if (!kinds.ok) return void vscode.window.showErrorMessage(`Cannot apply the cosplay: ${describeError(kinds.error)}`);
  if (kinds.note) context.log.info(kinds.note);
  return applyAs(kinds.kinds[0], context, plan, on, gpus);
}
