// Strategies for a GPU request: every allowed GPU type and shape (one node, or k nodes × m GPUs),
// validated against the cluster first, probed with `sbatch --test-only` — every probe of a request in
// ONE shell script, so one SSH round trip — and ranked by start, then cost, then preference.
import type { GpuDevError } from '../../core/errors';
import { closest } from '../../core/suggest';
import { quoteArgv } from '../../hosts/shellQuote';
import { formatSlurmTime } from '../duration';
import { CLOCK_LINE, parseClock, slurmTime } from './clusterClock';
import { gresGpu, resolveGresType, type GpuAliases } from './gresTypes';
import { typeSummaries, type Availability, type TypeSummary } from './sinfo';

export type { GpuAliases } from './gresTypes';

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
  /** Which catalog GPU the GRES type is ("NVIDIA L40S", "1g.10gb MIG slice of …"); "" or absent when not known. */
  readonly gpu?: string;
  /** For MIG slices: a slice's share of the node, which sites enforce (QOSMaxCpuPerJobLimit). */
  readonly cpusPerTask?: number;
  readonly memMiB?: number;
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
  /** The login node's UTC offset ("+0100") when it printed one. */
  readonly clusterZone?: string;
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
    const resolved = resolveGresType(typed, known, aliases);
    if ('message' in resolved) return resolved;
    for (const type of resolved) if (!types.includes(type)) types.push(type);
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
    const gpu = gresGpu(type, aliases);
    const described = gpu.mig ? `${gpu.mig.profile} MIG slice${gpu.name ? ` of ${gpu.name}` : ''}` : (gpu.name ?? '');
    for (const { nodes, perNode } of fitting)
      strategies.push({
        type,
        gpu: described,
        ...(gpu.mig && sliceShare(availability, partition.name, type, gpu.mig.slices * perNode)),
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

const MIB_PER_GIB = 1024;

/**
 * CPUs and memory for `slices` sevenths of a GPU on the type's smallest node: the node's share per
 * whole GPU (its GPUs counted with MIG slices folded back into GPUs) times the slices, at least 1 CPU
 * and 1 GiB.
 */
function sliceShare(
  availability: Availability,
  partition: string,
  type: string,
  slices: number,
): { cpusPerTask: number; memMiB: number } {
  const shares = availability.nodes
    .filter((n) => n.partitions.includes(partition) && n.gpus.some((g) => g.type === type))
    .map((n) => {
      const whole = n.gpus.reduce((sum, g) => {
        const mig = /(\d)g\.\d+gb$/i.exec(g.type);
        return sum + (mig ? (g.total * Number(mig[1])) / 7 : g.total);
      }, 0);
      const perGpu = Math.max(1, Math.ceil(whole));
      return {
        cpus: Math.floor(((n.cpus ?? 1) * slices) / 7 / perGpu),
        mem: Math.floor(((n.memoryMiB ?? MIB_PER_GIB) * slices) / 7 / perGpu),
        maxMem: n.memoryMiB ?? MIB_PER_GIB,
      };
    });
  const cpus = Math.max(1, Math.min(...shares.map((s) => s.cpus)));
  const maxMem = Math.min(...shares.map((s) => s.maxMem));
  return { cpusPerTask: cpus, memMiB: Math.min(maxMem, Math.max(MIB_PER_GIB, ...shares.map((s) => s.mem))) };
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
    ...(strategy.cpusPerTask ? ['--cpus-per-task', String(strategy.cpusPerTask)] : []),
    ...(strategy.memMiB ? ['--mem', `${strategy.memMiB}M`] : []),
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
  return [CLOCK_LINE, 'd=$(mktemp -d) || exit 1', ...probes, 'wait', ...report, 'rm -rf "$d"'].join('\n');
}

/**
 * The probes' output, back onto their strategies; `weights` per GPU type (default 1). Start times are
 * read in the login node's zone and compared with its clock, when the output has them (else `now`).
 */
export function parseProbes(
  output: string,
  strategies: readonly Strategy[],
  now: Date,
  weights: Readonly<Record<string, number>> = {},
): ProbedStrategy[] {
  const clock = parseClock(output);
  const clusterNow = clock?.epochMs ?? now.getTime();
  const zone = clock ? { clusterZone: clock.zone } : {};
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
      return { ...strategy, start: null, nodeList: null, when: 'never' as const, reason, cost, ...zone };
    }
    const start = slurmTime(started[1]!, clock);
    return {
      ...strategy,
      start,
      nodeList: started[2]!,
      when: start && start.getTime() - clusterNow <= 60_000 ? ('now' as const) : ('later' as const),
      cost,
      ...zone,
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
