// Strategies for a GPU request: every allowed GPU type and shape (one node, or k nodes × m GPUs),
// validated against the cluster first, probed with `sbatch --test-only` — every probe of a request in
// ONE shell script, so one SSH round trip — and ranked by start, then cost, then preference.
import type { GpuDevError } from '../../core/errors';
import { closest } from '../../core/suggest';
import { quoteArgv } from '../../hosts/shellQuote';
import { formatSlurmTime } from '../duration';
import { typeSummaries, type Availability, type TypeSummary } from './sinfo';

export interface ReservationRequest {
  /** GPU types as the user typed them; empty: every type of the partition. */
  readonly types: readonly string[];
  readonly count: number;
  readonly minutes: number;
  readonly partition?: string;
  /** A fixed node count; otherwise one node when it fits, and every k × m split. */
  readonly nodes?: number;
  readonly account?: string;
}

export interface Strategy {
  readonly type: string;
  readonly nodes: number;
  readonly perNode: number;
  readonly partition: string;
  readonly minutes: number;
  readonly account?: string;
}

export interface ProbedStrategy extends Strategy {
  /** When sbatch --test-only expects it to start; null when it cannot run. */
  readonly start: Date | null;
  readonly nodeList: string | null;
  readonly when: 'now' | 'later' | 'never';
  readonly reason?: string;
  /** GPU-hours weighted by the type's cost. */
  readonly cost: number;
}

const norm = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Other names of a GPU (the catalog's key, NVML name and aliases for "3090" or "A100 SXM4 80GB"). */
export type GpuAliases = (typed: string) => readonly string[];

/**
 * The cluster's GRES type for what the user typed: case and punctuation aside, or named inside it
 * ("H100 80GB" → h100), or through one of the GPU's other names ("3090" → rtx3090).
 */
function resolveType(typed: string, types: readonly string[], aliases: GpuAliases): string | GpuDevError {
  const wanted = norm(typed);
  const match = (name: string) =>
    types.find((t) => norm(t) === norm(name)) ?? types.find((t) => norm(t) && norm(name).includes(norm(t)));
  const found = wanted ? (match(typed) ?? aliases(typed).map(match).find(Boolean)) : undefined;
  if (found) return found;
  const suggestions = closest(wanted, types.map(norm));
  return {
    message: `No GPU type "${typed}" on this cluster`,
    hint: suggestions.length ? `did you mean ${suggestions.join(', ')}?` : `it has ${types.join(', ') || 'no GPUs'}`,
  };
}

/** The strategies to probe, or the first thing wrong with the request (nothing has been submitted). */
export function strategiesFor(
  request: ReservationRequest,
  availability: Availability,
  aliases: GpuAliases = () => [],
): Strategy[] | GpuDevError {
  const partitions = availability.partitions;
  const partition = request.partition
    ? partitions.find((p) => p.name === request.partition)
    : (partitions.find((p) => p.isDefault) ?? partitions[0]);
  if (!partition) {
    const names = partitions.map((p) => p.name);
    return {
      message: `No partition "${request.partition ?? '(default)'}" on this cluster`,
      hint: names.length
        ? `did you mean ${closest(request.partition ?? '', names).join(', ') || names.join(', ')}?`
        : 'sinfo lists no partition',
    };
  }
  if (!Number.isInteger(request.count) || request.count < 1)
    return { message: `GPU count must be a whole number of at least 1, not ${request.count}` };
  if (partition.maxMinutes !== null && request.minutes > partition.maxMinutes) {
    return {
      message: `${formatSlurmTime(request.minutes)} is over the ${partition.name} partition's limit of ${formatSlurmTime(partition.maxMinutes)}`,
      hint: 'ask for less time or pick another partition',
    };
  }
  const summaries = typeSummaries(availability, partition.name);
  const known = summaries.map((s) => s.type);
  const types: string[] = [];
  for (const typed of request.types.length ? request.types : known) {
    const type = resolveType(typed, known, aliases);
    if (typeof type !== 'string') return type;
    if (!types.includes(type)) types.push(type);
  }
  if (request.nodes && request.count % request.nodes)
    return { message: `${gpus(request.count)} do not split evenly over ${request.nodes} nodes` };
  const splits = (
    request.nodes ? [request.nodes] : divisors(request.count).map((perNode) => request.count / perNode)
  ).map((nodes) => ({ nodes, perNode: request.count / nodes }));
  const strategies: Strategy[] = [];
  const misfits: TypeSummary[] = [];
  for (const type of types) {
    const summary = summaries.find((s) => s.type === type)!;
    const fitting = splits.filter((s) => s.perNode <= summary.perNode && s.nodes <= summary.nodes);
    if (!fitting.length) misfits.push(summary);
    for (const { nodes, perNode } of fitting)
      strategies.push({
        type,
        nodes,
        perNode,
        partition: partition.name,
        minutes: request.minutes,
        ...(request.account && { account: request.account }),
      });
  }
  if (!strategies.length) return { message: noPlacement(request.count, partition.name, misfits, splits) };
  return strategies;
}

const gpus = (count: number) => `${count} GPU${count === 1 ? '' : 's'}`;
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const orList = (items: readonly string[]) =>
  items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : (items[0] ?? '');
const andList = (items: readonly string[]) =>
  items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : (items[0] ?? '');

/**
 * One sentence for a request that fits no GPU type: the types grouped by their shape (GPUs per node, nodes)
 * and the even splits of the count that were tried — instead of one clause per type and split.
 */
export function noPlacement(
  count: number,
  partition: string,
  types: ReadonlyArray<Pick<TypeSummary, 'type' | 'perNode' | 'nodes'>>,
  splits: ReadonlyArray<{ nodes: number; perNode: number }>,
): string {
  const shapes = new Map<string, string[]>();
  for (const t of types) {
    const shape = `${t.perNode} per node on ${plural(t.nodes, 'node')}`;
    shapes.set(shape, [...(shapes.get(shape) ?? []), t.type]);
  }
  const have = [...shapes].map(([shape, names]) => `${andList(names)} ${names.length > 1 ? 'have' : 'has'} ${shape}`);
  const needs = orList(splits.map((s) => `${plural(s.nodes, 'node')} × ${s.perNode}`));
  return `No way to place ${gpus(count)} in ${partition}: ${count === 1 ? 'it needs' : 'they need'} ${needs}, but ${have.join('; ')}`;
}

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1)
    .filter((d) => n % d === 0)
    .reverse();
}

/** sbatch's options for a strategy: every value a separate argument (the script quotes each). */
export function sbatchOptions(strategy: Strategy): string[] {
  return [
    '--partition',
    strategy.partition,
    '--nodes',
    String(strategy.nodes),
    '--gres',
    `gpu:${strategy.type}:${strategy.perNode}`,
    '--time',
    formatSlurmTime(strategy.minutes),
    ...(strategy.account ? ['--account', strategy.account] : []),
  ];
}

const MARK = '@@gpudev-probe';

/**
 * One POSIX shell script that runs every probe at once (each into its own file: slurmctld answers them
 * side by side), then prints each one's output marked with its index and exit status, in order.
 */
export function probeScript(strategies: readonly Strategy[]): string {
  const probes = strategies.map(
    (s, i) =>
      `(${quoteArgv(['sbatch', '--test-only', '--job-name', 'gpudev-probe', ...sbatchOptions(s), '--wrap', 'true'])} >"$d/${i}" 2>&1; echo $? >"$d/${i}.exit") &`,
  );
  const report = strategies.map(
    (_, i) => `printf '%s\\n' '${MARK} ${i}'; cat "$d/${i}"; printf '%s\\n' "${MARK}-exit $(cat "$d/${i}.exit")"`,
  );
  return ['d=$(mktemp -d) || exit 1', ...probes, 'wait', ...report, 'rm -rf "$d"'].join('\n');
}

/** The probes' output, back onto their strategies; `weights` per GPU type (default 1). */
export function parseProbes(
  output: string,
  strategies: readonly Strategy[],
  now: Date,
  weights: Readonly<Record<string, number>> = {},
): ProbedStrategy[] {
  const sections = new Map<number, string>();
  let current: number | undefined;
  for (const line of output.split('\n')) {
    const mark = new RegExp(`^${MARK} (\\d+)$`).exec(line);
    if (mark) {
      current = Number(mark[1]);
      sections.set(current, '');
    } else if (line.startsWith(`${MARK}-exit`)) current = undefined;
    else if (current !== undefined) sections.set(current, `${sections.get(current)}${line}\n`);
  }
  return strategies.map((strategy, i) => {
    const text = sections.get(i) ?? '';
    const started = /to start at (\S+) using .* on nodes (\S+)/.exec(text);
    const cost = (strategy.nodes * strategy.perNode * strategy.minutes * (weights[strategy.type] ?? 1)) / 60;
    if (!started) {
      const reason =
        text
          .split('\n')
          .map((l) => l.replace(/^(sbatch: error: |allocation failure: )/, '').trim())
          .filter(Boolean)
          .pop() ?? 'no answer from sbatch --test-only';
      return { ...strategy, start: null, nodeList: null, when: 'never' as const, reason, cost };
    }
    const start = new Date(started[1]!);
    const valid = !Number.isNaN(start.getTime());
    return {
      ...strategy,
      start: valid ? start : null,
      nodeList: started[2]!,
      when: valid && start.getTime() - now.getTime() <= 60_000 ? ('now' as const) : ('later' as const),
      cost,
    };
  });
}

/** Soonest start first (never last), then lower cost, then the order the user gave the types, then fewer nodes. */
export function rankStrategies(probed: readonly ProbedStrategy[], preference: readonly string[]): ProbedStrategy[] {
  const startOf = (p: ProbedStrategy) => p.start?.getTime() ?? Number.POSITIVE_INFINITY;
  const prefer = (p: ProbedStrategy) => preference.indexOf(p.type) + 1 || preference.length + 1;
  return [...probed].sort(
    (a, b) => startOf(a) - startOf(b) || a.cost - b.cost || prefer(a) - prefer(b) || a.nodes - b.nodes,
  );
}
