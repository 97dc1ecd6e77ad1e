// The host journal of one GPU: every change a session made, written on the host before the change is
// made (intended → done → undone), with the original value read just before. It is the one record of
// what to undo; container labels only point at it. Pure: reading and writing it is hostJournal.ts.
import * as z from 'zod/mini';
import { ChangeSchema, describeChange, GPU_UUID, GPU_WIDE, SESSION_NAME, type Change } from './changes';
import { SessionPlanSchema } from './session';

const StepStateSchema = z.enum(['intended', 'done', 'undone']);
export type StepState = z.infer<typeof StepStateSchema>;

const StepSchema = z.strictObject({
  change: ChangeSchema,
  state: StepStateSchema,
  at: z.string().check(z.maxLength(40)),
});
export type Step = z.infer<typeof StepSchema>;

/** A GPU-wide change: made by the first session on the GPU (`by`), undone when the last one leaves. */
const GpuWideStepSchema = z.extend(StepSchema, { by: z.string().check(z.regex(SESSION_NAME)) });
export type GpuWideStep = z.infer<typeof GpuWideStepSchema>;

const JournalSessionSchema = z.strictObject({
  name: z.string().check(z.regex(SESSION_NAME)),
  /** Who applied it: user@machine of the window or CLI. */
  owner: z.string().check(z.maxLength(200)),
  startedAt: z.string().check(z.maxLength(40)),
  hostLabel: z.string().check(z.maxLength(300)),
  gpuIndex: z.int().check(z.minimum(0), z.maximum(1023)),
  plan: SessionPlanSchema,
  /** Its own changes (GPU instance, MPS daemon, container), in the order they were made. */
  steps: z.array(StepSchema).check(z.maxLength(32)),
  /** Set when a stop could not restore the host: which step, and why. */
  unrestored: z.optional(z.string().check(z.maxLength(2000))),
});
export type JournalSession = z.infer<typeof JournalSessionSchema>;

const GpuJournalSchema = z.strictObject({
  version: z.literal(1),
  gpuUuid: z.string().check(z.regex(GPU_UUID)),
  gpuWide: z.array(GpuWideStepSchema).check(z.maxLength(32)),
  sessions: z.array(JournalSessionSchema).check(z.maxLength(64)),
});
export type GpuJournal = z.infer<typeof GpuJournalSchema>;

export function emptyJournal(gpuUuid: string): GpuJournal {
  return { version: 1, gpuUuid, gpuWide: [], sessions: [] };
}

/** A journal file's text, validated; a sentence when it is not one of ours (edited by hand, truncated). */
export function parseJournal(text: string, gpuUuid: string): GpuJournal | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'it is not JSON';
  }
  const parsed = GpuJournalSchema.safeParse(json);
  if (!parsed.success)
    return `it does not read as a gpudev journal (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`;
  if (parsed.data.gpuUuid !== gpuUuid) return `it names ${parsed.data.gpuUuid}, not ${gpuUuid}`;
  return parsed.data;
}

/** Changes still in place or possibly so (intended: the host may or may not have made them). */
const active = (step: Step) => step.state !== 'undone';

/** The GPU-wide settings sessions on a GPU share; compared exactly before a second one joins. */
export interface GpuWideSettings {
  readonly mig: boolean;
  readonly clockLockMHz: number | null;
  readonly memoryClockMHz: number | null;
  readonly powerCapW: number | null;
}

export function settingsOf(journal: GpuJournal): GpuWideSettings {
  const find = <K extends Change['kind']>(kind: K) =>
    journal.gpuWide.find(
      (s): s is GpuWideStep & { change: Extract<Change, { kind: K }> } => active(s) && s.change.kind === kind,
    )?.change;
  return {
    mig: journal.sessions.some((s) => s.plan.strategy === 'mig'),
    clockLockMHz: find('clockLock')?.mhz ?? null,
    memoryClockMHz: find('memoryClockLock')?.mhz ?? null,
    powerCapW: find('powerCap')?.watts ?? null,
  };
}

function shown(settings: GpuWideSettings): string {
  return [
    settings.mig ? 'MIG' : 'no MIG',
    settings.clockLockMHz === null ? 'clocks unlocked' : `clocks ${settings.clockLockMHz} MHz`,
    ...(settings.memoryClockMHz === null ? [] : [`memory clocks ${settings.memoryClockMHz} MHz`]),
    settings.powerCapW === null ? 'power as it was' : `power ${settings.powerCapW} W`,
  ].join(', ');
}

/**
 * Why a session with `wanted` settings cannot join the sessions already on the GPU (live or orphaned):
 * sessions share a GPU only with exactly the same GPU-wide settings. Undefined when it can.
 */
export function clashWith(journal: GpuJournal, wanted: GpuWideSettings): { message: string; hint: string } | undefined {
  if (!journal.sessions.length) return undefined;
  const theirs = settingsOf(journal);
  const same = (Object.keys(theirs) as (keyof GpuWideSettings)[]).every((key) => theirs[key] === wanted[key]);
  if (same) return undefined;
  const holders = journal.sessions.map((s) => `"${s.name}" (${s.owner})`).join(', ');
  return {
    message: `session ${holders} on this GPU already set ${shown(theirs)}; this cosplay needs ${shown(wanted)}`,
    hint: 'these settings are shared by every session on the GPU: stop that session (or clean it up if it is an orphan) or pick another GPU',
  };
}

/**
 * What a session changed, in the user's words: its own changes, and the GPU-wide ones while it is the
 * GPU's last session. With `undo`: what restoring the host undoes, in the order `restoreSession` does
 * it, from the recorded originals ("power limit back to 700 W"); the container, removed after, is not
 * a host change.
 */
export function changesOf(journal: GpuJournal, name: string, undo = false): string[] {
  const session = journal.sessions.find((s) => s.name === name);
  if (!session) return [];
  const own = session.steps
    .filter((s) => active(s) && !(undo && s.change.kind === 'container'))
    .map((s) => describeChange(s.change, undo));
  const last = journal.sessions.length === 1;
  const shared = last ? journal.gpuWide.filter(active).map((s) => describeChange(s.change, undo)) : [];
  return undo ? [...own.reverse(), ...shared.reverse()] : [...shared, ...own];
}

/** The settings verify checks the session's GPU against: what the host journal says is set now. */
export function expectationsOf(journal: GpuJournal): Record<string, string> {
  const { clockLockMHz, powerCapW } = settingsOf(journal);
  return {
    ...(clockLockMHz !== null && { GPUDEV_EXPECT_CLOCK_MHZ: String(clockLockMHz) }),
    ...(powerCapW !== null && { GPUDEV_EXPECT_POWER_W: String(powerCapW) }),
  };
}

export const isGpuWide = (change: Change) => GPU_WIDE.has(change.kind);
