// GPU availability from `sinfo -N -O …` (one line per node and partition), parsed defensively.
import { parseTimeLimit } from '../duration';

export const SINFO_ARGV = [
  'sinfo',
  '-h',
  '-N',
  '-O',
  'NodeHost:|,Partition:|,Gres:|,GresUsed:|,StateLong:|,Time:|,CPUs:|,Memory:|',
];

export interface NodeGpus {
  readonly node: string;
  readonly partitions: readonly string[];
  readonly state: string;
  /** The node's CPUs and memory (MiB) where sinfo gave them. */
  readonly cpus?: number;
  readonly memoryMiB?: number;
  /** Per GPU type (lower case; "gpu" when the cluster gives none). */
  readonly gpus: ReadonlyArray<{ readonly type: string; readonly total: number; readonly used: number }>;
}

export interface Partition {
  readonly name: string;
  readonly isDefault: boolean;
  /** MaxTime in minutes; null when unlimited. */
  readonly maxMinutes: number | null;
}

export interface Availability {
  readonly nodes: readonly NodeGpus[];
  readonly partitions: readonly Partition[];
  readonly problems: readonly string[];
}

export interface TypeSummary {
  readonly type: string;
  readonly total: number;
  readonly used: number;
  /** Free GPUs on nodes that can take jobs (idle or mixed). */
  readonly free: number;
  /** Most GPUs of this type on one node. */
  readonly perNode: number;
  readonly nodes: number;
  /** The nodes' states: "idle 3, mixed 1, drained 1". */
  readonly states: string;
}

/** `gpu:h100:4(S:0-1),gpu:2` → [{h100, 4}, {gpu, 2}]; other GRES (shards, mps) are not GPUs. */
function gresCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of text.split(/,(?![^(]*\))/)) {
    const match = /^gpu(?::([^:(]+))?:(\d+)/.exec(item.trim());
    if (match)
      counts.set(
        (match[1] ?? 'gpu').toLowerCase(),
        (counts.get((match[1] ?? 'gpu').toLowerCase()) ?? 0) + Number(match[2]),
      );
  }
  return counts;
}

export function parseSinfo(text: string): Availability {
  type NodeEntry = {
    partitions: string[];
    state: string;
    cpus?: number;
    memoryMiB?: number;
    gpus: Map<string, { total: number; used: number }>;
  };
  const byNode = new Map<string, NodeEntry>();
  const partitions = new Map<string, Partition>();
  const problems: string[] = [];
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const [node, partition, gres, used, state, time, cpus, memory] = line.split('|');
    if (!node || !partition || gres === undefined || used === undefined || !state || time === undefined) {
      problems.push(`sinfo line not understood: ${line.slice(0, 120)}`);
      continue;
    }
    const name = partition.replace(/\*$/, '');
    partitions.set(name, { name, isDefault: partition.endsWith('*'), maxMinutes: parseTimeLimit(time) });
    const entry: NodeEntry = byNode.get(node) ?? { partitions: [], state, gpus: new Map() };
    entry.partitions.push(name);
    if (/^\d+$/.test(cpus ?? '')) entry.cpus = Number(cpus);
    if (/^\d+$/.test(memory ?? '')) entry.memoryMiB = Number(memory);
    const usedCounts = gresCounts(used);
    for (const [type, total] of gresCounts(gres)) entry.gpus.set(type, { total, used: usedCounts.get(type) ?? 0 });
    byNode.set(node, entry);
  }
  return {
    nodes: [...byNode].map(([node, e]) => ({
      node,
      partitions: e.partitions,
      state: e.state,
      ...(e.cpus !== undefined && { cpus: e.cpus }),
      ...(e.memoryMiB !== undefined && { memoryMiB: e.memoryMiB }),
      gpus: [...e.gpus].map(([type, c]) => ({ type, ...c })),
    })),
    partitions: [...partitions.values()],
    problems,
  };
}

const USABLE = /^(idle|mixed|allocated|completing)/;

export function typeSummaries(availability: Availability, partition?: string): TypeSummary[] {
  const summaries = new Map<
    string,
    { total: number; used: number; free: number; perNode: number; nodes: number; states: Map<string, number> }
  >();
  for (const node of availability.nodes) {
    if (partition && !node.partitions.includes(partition)) continue;
    for (const gpu of node.gpus) {
      const s = summaries.get(gpu.type) ?? {
        total: 0,
        used: 0,
        free: 0,
        perNode: 0,
        nodes: 0,
        states: new Map<string, number>(),
      };
      const state = node.state.replace(/[*~#!%$@^-]+$/, '');
      s.states.set(state, (s.states.get(state) ?? 0) + 1);
      s.total += gpu.total;
      s.used += gpu.used;
      if (USABLE.test(node.state)) s.free += Math.max(0, gpu.total - gpu.used);
      s.perNode = Math.max(s.perNode, gpu.total);
      s.nodes += 1;
      summaries.set(gpu.type, s);
    }
  }
  return [...summaries]
    .map(([type, { states, ...s }]) => ({
      type,
      ...s,
      states: [...states].map(([state, n]) => `${state} ${n}`).join(', '),
    }))
    .sort((a, b) => a.type.localeCompare(b.type));
}
