// Every message between the extension and its webviews, both ways, as zod schemas (zod/mini:
// the same validation, a fraction of the bundle). Both sides validate what they receive.
import * as z from 'zod/mini';

const text = z.string().check(z.maxLength(4000));
const list = <T extends z.ZodMiniType>(item: T, max: number) => z.array(item).check(z.maxLength(max));

export const PlanViewSchema = z.strictObject({
  title: text,
  summary: text,
  rows: list(
    z.strictObject({
      metric: text,
      target: text,
      predicted: text,
      ratio: text,
      verdict: text,
      level: z.enum(['match', 'off', 'info']),
    }),
    50,
  ),
  mutations: list(z.strictObject({ description: text, command: text, gpuWide: z.boolean() }), 50),
  device: z.strictObject({ text, known: z.boolean() }),
  env: list(z.strictObject({ name: text, value: text }), 100),
  warnings: list(text, 50),
  alternatives: list(text, 10),
  commandLine: text,
  apply: z.strictObject({ enabled: z.boolean(), note: text }),
  inUse: z.optional(text),
  simulated: z.optional(text),
});

/** Extension → plan webview. */
export const ToPlanWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('plan'), view: PlanViewSchema }),
  /** An apply started from the panel ended (the button works again). */
  z.strictObject({ type: z.literal('applied'), ok: z.boolean() }),
]);

/** Plan webview → extension. */
export const FromPlanWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('copyCommandLine') }),
  z.strictObject({ type: z.literal('apply') }),
]);

export type ToPlanWebview = z.infer<typeof ToPlanWebviewSchema>;
export type FromPlanWebview = z.infer<typeof FromPlanWebviewSchema>;

const measure = z.nullable(z.number());
const fields = list(z.strictObject({ label: text, value: text }), 40);
/** One GPU's samples as columns, oldest first; times in ms since the epoch. */
const SeriesSchema = z.strictObject({
  at: list(z.number(), 20_000),
  utilizationPct: list(measure, 20_000),
  memoryUsedMiB: list(measure, 20_000),
  memoryTotalMiB: measure,
});

/** Extension → GPU details webview: the page, then each new sample, and the `nvidia-smi -q` report when it comes. */
/** A GPU details panel's state across a reload: the host and the GPU's key (its UUID, or its index). */
export const DetailsRestoreSchema = z.strictObject({ host: text, key: text });

export const ToDetailsWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('details'),
    title: text,
    fields,
    series: SeriesSchema,
    historyMs: z.number(),
    /** Which GPU: kept by the webview for the panel to come back after a reload. */
    restore: DetailsRestoreSchema,
  }),
  z.strictObject({
    type: z.literal('sample'),
    fields,
    at: z.number(),
    utilizationPct: measure,
    memoryUsedMiB: measure,
    memoryTotalMiB: measure,
  }),
  z.strictObject({
    type: z.literal('report'),
    heading: text,
    text: z.string().check(z.maxLength(2_000_000)),
    ok: z.boolean(),
  }),
]);

/** GPU details webview → extension. */
export const FromDetailsWebviewSchema = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('ready') })]);

export type ToDetailsWebview = z.infer<typeof ToDetailsWebviewSchema>;
export type FromDetailsWebview = z.infer<typeof FromDetailsWebviewSchema>;

const ratio = z.nullable(z.number());
export const FidelityViewSchema = z.strictObject({
  title: text,
  subtitle: text,
  /** torch, CUDA and driver versions, and where the efficiency came from. */
  versions: z.optional(text),
  savedAs: z.nullable(text),
  rows: list(
    z.strictObject({
      label: text,
      unit: text,
      target: measure,
      predicted: measure,
      measured: measure,
      /** measured / target and predicted / target */
      ratio,
      predictedRatio: ratio,
      /** target × the host's efficiency, and measured / that */
      achievable: measure,
      achievableRatio: ratio,
      note: text,
      level: z.enum(['match', 'off', 'none']),
    }),
    20,
  ),
  /** Earlier reports of the same target on the same host, oldest first: measured / target per row label. */
  history: list(z.strictObject({ at: text, ratios: z.record(z.string(), ratio) }), 200),
  /** Set when the report's host is a simulation (the demo lab). */
  simulated: z.optional(text),
});
export type FidelityView = z.infer<typeof FidelityViewSchema>;

/** Extension → fidelity report webview. */
export const ToFidelityWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('report'), view: FidelityViewSchema }),
]);

/** Fidelity report webview → extension. */
export const FromFidelityWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('openReportFile') }),
]);

export type ToFidelityWebview = z.infer<typeof ToFidelityWebviewSchema>;
export type FromFidelityWebview = z.infer<typeof FromFidelityWebviewSchema>;

const name = z.string().check(z.maxLength(300));
/** Extension → reservation webview. */
export const ToReserveWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('clusters'),
    clusters: list(z.strictObject({ name, login: name, partitions: list(name, 50) }), 50),
    /** The form's values from the workspace's `.gpudev.yaml` (docs/workspace.md), where it names them. */
    prefill: z.optional(
      z.strictObject({
        cluster: z.optional(name),
        types: z.optional(text),
        count: z.optional(z.number()),
        time: z.optional(name),
        partition: z.optional(name),
      }),
    ),
  }),
  z.strictObject({
    type: z.literal('availability'),
    cluster: name,
    error: z.nullable(text),
    rows: list(
      z.strictObject({
        type: name,
        total: z.number(),
        used: z.number(),
        free: z.number(),
        perNode: z.number(),
        nodes: z.number(),
        states: text,
      }),
      50,
    ),
    partitions: list(z.strictObject({ name, limit: text, isDefault: z.boolean() }), 50),
  }),
  z.strictObject({
    type: z.literal('strategies'),
    /** Which dry run the table shows: Submit and Race name it, and the extension acts on that one only. */
    plan: z.number(),
    /** How many the race would submit (the top startable ones); 0 when fewer than 2 can start. */
    race: z.number(),
    summary: text,
    rows: list(
      z.strictObject({
        index: z.number(),
        gpus: text,
        partition: name,
        start: text,
        node: text,
        cost: text,
        startable: z.boolean(),
        reason: text,
      }),
      200,
    ),
  }),
  /** The answer to a request that did not end in a table (an error, or a race submitted). */
  z.strictObject({ type: z.literal('result'), ok: z.boolean(), message: text }),
  /** Plan `plan` was submitted: the table stays, as what was submitted, with nothing left to submit. */
  z.strictObject({ type: z.literal('submitted'), plan: z.number(), message: text, summary: text }),
]);

const request = {
  cluster: name,
  types: name,
  count: z.number().check(z.int(), z.minimum(1), z.maximum(100_000)),
  time: name,
  partition: name,
  nodes: z.nullable(z.number().check(z.int(), z.minimum(1), z.maximum(10_000))),
};
/** Reservation webview → extension. */
export const FromReserveWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('selectCluster'), cluster: name }),
  z.strictObject({ type: z.literal('plan'), ...request }),
  z.strictObject({
    type: z.literal('submit'),
    plan: z.number().check(z.int(), z.minimum(0)),
    index: z.number().check(z.int(), z.minimum(0)),
  }),
  z.strictObject({ type: z.literal('race'), plan: z.number().check(z.int(), z.minimum(0)) }),
]);

export type ToReserveWebview = z.infer<typeof ToReserveWebviewSchema>;
export type FromReserveWebview = z.infer<typeof FromReserveWebviewSchema>;

/** The workspace analysis panel ("GPU: Analyze Workspace"): its view, posted whole. */
export const AnalyzeViewSchema = z.strictObject({
  folder: text,
  summary: text,
  totalGiB: z.number(),
  range: text,
  parts: list(z.strictObject({ name: text, gib: z.number(), formula: text }), 20),
  unknowns: list(text, 50),
  fits: list(z.strictObject({ key: text, name: text, vramGiB: z.number() }), 100),
  target: z.nullable(text),
  reserve: list(text, 32),
  findings: list(z.strictObject({ file: text, line: z.number(), what: text }), 500),
  skipped: list(text, 200),
  hasConfig: z.boolean(),
});

/** Extension → analyze webview. */
export const ToAnalyzeWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('analysis'), view: AnalyzeViewSchema }),
]);

/** Analyze webview → extension. */
export const FromAnalyzeWebviewSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('open'), file: text, line: z.number().check(z.int(), z.minimum(1)) }),
  z.strictObject({ type: z.literal('writeConfig') }),
  z.strictObject({ type: z.literal('cosplay'), target: text }),
  z.strictObject({ type: z.literal('reserve') }),
  z.strictObject({ type: z.literal('exportSkyPilot') }),
]);

export type ToAnalyzeWebview = z.infer<typeof ToAnalyzeWebviewSchema>;
export type FromAnalyzeWebview = z.infer<typeof FromAnalyzeWebviewSchema>;
