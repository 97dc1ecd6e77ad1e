// A cosplay session is a container; its labels are the only record of it (no local state file).
import * as z from 'zod/mini';
import type { ContainerInfo } from '../hosts/docker';
import type { CosplayPlan, LiveSession } from './planner';

export const LABEL = {
  session: 'gpudev.session',
  target: 'gpudev.target',
  host: 'gpudev.host',
  gpu: 'gpudev.gpu',
  plan: 'gpudev.plan',
  restore: 'gpudev.restore',
} as const;

const CommandSchema = z.strictObject({
  argv: z.array(z.string()).check(z.minLength(1)),
  stdin: z.optional(z.string()),
  env: z.optional(z.record(z.string(), z.string())),
});

/** One host change to undo when the session ends, with the commands that undo it. */
const RestoreStepSchema = z.strictObject({ description: z.string(), gpuWide: z.boolean(), commands: z.array(CommandSchema) });
export type RestoreStep = z.infer<typeof RestoreStepSchema>;

/** A benchmarkable metric as the plan sees it: the target's datasheet figure and the model's prediction. */
const ExpectedSchema = z.strictObject({ metric: z.string(), label: z.string(), unit: z.string(), target: z.nullable(z.number()), predicted: z.nullable(z.number()) });
export type Expected = z.infer<typeof ExpectedSchema>;

const SessionPlanSchema = z.strictObject({
  target: z.string(),
  targetName: z.string(),
  host: z.string(),
  strategy: z.string(),
  gpuUuid: z.nullable(z.string()),
  device: z.nullable(z.string()),
  vramMiB: z.number(),
  clockLockMHz: z.nullable(z.number()),
  powerCapW: z.nullable(z.number()),
  memoryClockShare: z.nullable(z.number()),
  /** The host GPU's boost clock: the top of the range calibration searches. */
  boostClockMHz: z.optional(z.number()),
  expected: z.array(ExpectedSchema),
});
export type SessionPlan = z.infer<typeof SessionPlanSchema>;

export interface Session {
  readonly name: string;
  readonly containerId: string;
  readonly running: boolean;
  readonly state: string;
  readonly createdMs: number;
  readonly hostLabel: string;
  readonly gpuIndex: number;
  readonly plan: SessionPlan;
  /** In the order to run them. */
  readonly restore: readonly RestoreStep[];
}

/** The bench's metric for each fidelity row it can measure. */
const BENCH_METRICS: Readonly<Record<string, string>> = { FP32: 'fp32', 'TF32 tensor': 'tf32', 'FP16 tensor': 'fp16', 'BF16 tensor': 'bf16', Bandwidth: 'bandwidth' };

export function expectedOf(plan: CosplayPlan): Expected[] {
  const number = (value: number | string | null) => (typeof value === 'number' ? value : null);
  return plan.fidelity.filter((row) => BENCH_METRICS[row.metric]).map((row) => ({
    metric: BENCH_METRICS[row.metric]!, label: row.metric, unit: row.unit, target: number(row.target), predicted: number(row.predicted),
  }));
}

export function sessionLabels(session: { name: string; hostLabel: string; gpuIndex: number; plan: SessionPlan; restore: readonly RestoreStep[] }): Record<string, string> {
  return {
    [LABEL.session]: session.name,
    [LABEL.target]: session.plan.target,
    [LABEL.host]: session.hostLabel,
    [LABEL.gpu]: String(session.gpuIndex),
    [LABEL.plan]: JSON.stringify(session.plan),
    [LABEL.restore]: JSON.stringify(session.restore),
  };
}

function json<T>(schema: z.ZodMiniType<T>, text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The session a container's labels describe, or a sentence saying why they do not (someone edited them). */
export function sessionOf(container: ContainerInfo): Session | string {
  const labels = container.labels;
  const plan = json(SessionPlanSchema, labels[LABEL.plan]);
  const restore = json(z.array(RestoreStepSchema), labels[LABEL.restore]);
  const gpuIndex = Number(labels[LABEL.gpu]);
  if (!labels[LABEL.session] || !plan || !restore || !Number.isInteger(gpuIndex)) {
    return `container ${container.name} has gpudev labels that cannot be read: remove it by hand (docker rm -f ${container.name})`;
  }
  return {
    name: labels[LABEL.session]!, containerId: container.id, running: container.state === 'running', state: container.state,
    createdMs: container.createdMs, hostLabel: labels[LABEL.host] ?? '', gpuIndex, plan, restore,
  };
}

export function liveSessionOf(session: Session): LiveSession {
  return { name: session.name, clockLockMHz: session.plan.clockLockMHz, powerCapW: session.plan.powerCapW, memoryClockShare: session.plan.memoryClockShare };
}
