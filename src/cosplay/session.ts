// A cosplay session: its record in the GPU's host journal and, while it runs, its container. The
// container's labels only name the session and where its journal is; nothing else is read from them.
import * as z from 'zod/mini';
import type { ContainerInfo } from '../hosts/docker';
import { GPU_UUID, SESSION_NAME } from './changes';
import type { CosplayPlan, LiveSession } from './planner';

export const LABEL = {
  session: 'gpudev.session',
  /** `root` (sudo: /var/lib/gpudev) or `user` (~/.local/state/gpudev). */
  journal: 'gpudev.journal',
  /** The GPU's UUID: which journal file. */
  gpu: 'gpudev.gpu',
  /** For `docker ps` readers only. */
  target: 'gpudev.target',
} as const;

/** A benchmarkable metric as the plan sees it: the target's datasheet figure and the model's prediction. */
const ExpectedSchema = z.strictObject({
  metric: z.string(),
  label: z.string(),
  unit: z.string(),
  target: z.nullable(z.number()),
  predicted: z.nullable(z.number()),
});
export type Expected = z.infer<typeof ExpectedSchema>;

export const SessionPlanSchema = z.strictObject({
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
  /** A session of several GPUs: all of them, by UUID, in order; the first one's record holds the container. */
  gpus: z.optional(z.array(z.string().check(z.regex(GPU_UUID))).check(z.maxLength(64))),
});
export type SessionPlan = z.infer<typeof SessionPlanSchema>;

/** A session as the views and the CLI show it: its journal record joined with its container. */
export interface Session {
  readonly name: string;
  readonly owner: string;
  readonly hostLabel: string;
  readonly gpuIndex: number;
  readonly gpuUuid: string;
  /** A session of several GPUs: every one (the first is `gpuIndex`/`gpuUuid`, whose journal holds the container). */
  readonly gpus?: readonly { readonly index: number; readonly uuid: string }[];
  readonly createdMs: number;
  readonly plan: SessionPlan;
  /** Null when the container was never made or is gone. */
  readonly containerId: string | null;
  readonly running: boolean;
  /** Docker's state of the container (running, exited…), `gone`, or `unknown` while Docker cannot be asked. */
  readonly state: string;
  /** A process session (no container): its sshd's port on the host's loopback while it runs. */
  readonly process?: { readonly folder: string; readonly port: number | null };
  /** What the session changed on the host, in the user's words. */
  readonly changes: readonly string[];
  /** What stopping it undoes, in that order, from the journal's original values ("power limit back to 700 W"). */
  readonly undoes?: readonly string[];
  /** Set when a stop could not restore the host: which step, and why. */
  readonly unrestored?: string;
  readonly journal: 'root' | 'user';
}

/** The bench's metric for each fidelity row it can measure. */
const BENCH_METRICS: Readonly<Record<string, string>> = {
  FP32: 'fp32',
  'TF32 tensor': 'tf32',
  'FP16 tensor': 'fp16',
  'BF16 tensor': 'bf16',
  Bandwidth: 'bandwidth',
};

export function expectedOf(plan: CosplayPlan): Expected[] {
  const number = (value: number | string | null) => (typeof value === 'number' ? value : null);
  return plan.fidelity
    .filter((row) => BENCH_METRICS[row.metric])
    .map((row) => ({
      metric: BENCH_METRICS[row.metric]!,
      label: row.metric,
      unit: row.unit,
      target: number(row.target),
      predicted: number(row.predicted),
    }));
}

export function containerLabels(
  name: string,
  journal: 'root' | 'user',
  gpuUuid: string,
  target: string,
): Record<string, string> {
  return { [LABEL.session]: name, [LABEL.journal]: journal, [LABEL.gpu]: gpuUuid, [LABEL.target]: target };
}

/** What a container's labels claim: a session name and where its journal is. A claim only: the journal decides. */
export function labelsOf(
  container: ContainerInfo,
): { session: string; journal: 'root' | 'user'; gpuUuid: string } | undefined {
  const { labels } = container;
  const session = labels[LABEL.session] ?? '';
  const journal = labels[LABEL.journal];
  const gpuUuid = labels[LABEL.gpu] ?? '';
  if (!SESSION_NAME.test(session) || (journal !== 'root' && journal !== 'user') || !GPU_UUID.test(gpuUuid))
    return undefined;
  return { session, journal, gpuUuid };
}

export function liveSessionOf(session: Session): LiveSession {
  return {
    name: session.name,
    clockLockMHz: session.plan.clockLockMHz,
    powerCapW: session.plan.powerCapW,
    memoryClockShare: session.plan.memoryClockShare,
  };
}

/** How long ago a session started, as lists show it: "12 min". */
export function sessionAge(session: Pick<Session, 'createdMs'>, now = Date.now()): string {
  return `${Math.max(0, Math.round((now - session.createdMs) / 60_000))} min`;
}

/** The session's GPUs in words: "GPU 2", "GPUs 0, 1". */
export function sessionGpusText(session: Pick<Session, 'gpuIndex' | 'gpus'>): string {
  return session.gpus && session.gpus.length > 1
    ? `GPUs ${session.gpus.map((g) => g.index).join(', ')}`
    : `GPU ${session.gpuIndex}`;
}
