import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import { formatSlurmTime, parseDuration, parseTimeLimit } from '../../src/reserve/duration';
import { parseSinfo, typeSummaries } from '../../src/reserve/slurm/sinfo';
import {
  noPlacement,
  parseProbes,
  probeScript,
  rankStrategies,
  strategiesFor,
  type ProbedStrategy,
  type Strategy,
} from '../../src/reserve/slurm/strategies';

// As sinfo -h -N -O NodeHost:|,Partition:|,Gres:|,GresUsed:|,StateLong:|,Time:| printed it (Slurm 22.05), plus
// the shapes other clusters print: socket affinity, untyped GPUs, a drained node, shards.
const SINFO = [
  'vm|gpu*|gpu:h100:4,gpu:a100:2|gpu:h100:0(IDX:N/A),gpu:a100:0(IDX:N/A)|idle|2-00:00:00|',
  'vm|short|gpu:h100:4,gpu:a100:2|gpu:h100:0(IDX:N/A),gpu:a100:0(IDX:N/A)|idle|1:00:00|',
  'n2|gpu*|gpu:h100:8(S:0-1),shard:h100:64|gpu:h100:6(IDX:0-5),shard:h100:0|mixed|2-00:00:00|',
  'n3|gpu*|gpu:h100:8(S:0-1)|gpu:h100:0(IDX:N/A)|drained|2-00:00:00|',
  'old|legacy|gpu:2|gpu:1|allocated|UNLIMITED|',
  'garbage line',
].join('\n');

describe('Slurm: durations, sinfo, strategies', () => {
  it('reads durations as people and Slurm write them', () => {
    for (const [text, minutes] of [
      ['30m', 30],
      ['2h', 120],
      ['1h30m', 90],
      ['1d', 1440],
      ['90', 90],
      ['1:30:00', 90],
      ['1-00:00:00', 1440],
      ['2-12', 3600],
      ['5:30', 6],
    ] as const) {
      assert.equal(parseDuration(text), minutes, text);
    }
    for (const bad of ['', 'soon', '0', '-5', '1h-2'])
      assert.match(String(parseDuration(bad)), /is not a time: write 30m/, bad);
    assert.equal(formatSlurmTime(90), '01:30:00');
    assert.equal(formatSlurmTime(2880 + 5), '2-00:05:00');
    assert.equal(parseTimeLimit('UNLIMITED'), null);
    assert.equal(parseTimeLimit('1:00:00'), 60);
  });

  it('availability per type: totals, used, free on usable nodes, most per node', () => {
    const availability = parseSinfo(SINFO);
    assert.deepEqual(availability.problems, ['sinfo line not understood: garbage line']);
    assert.deepEqual(
      availability.partitions.map((p) => [p.name, p.isDefault, p.maxMinutes]),
      [
        ['gpu', true, 2880],
        ['short', false, 60],
        ['legacy', false, null],
      ],
    );
    assert.deepEqual(typeSummaries(availability, 'gpu'), [
      { type: 'a100', total: 2, used: 0, free: 2, perNode: 2, nodes: 1, states: 'idle 1' },
      { type: 'h100', total: 20, used: 6, free: 6, perNode: 8, nodes: 3, states: 'idle 1, mixed 1, drained 1' },
    ]);
    assert.deepEqual(typeSummaries(availability, 'legacy'), [
      { type: 'gpu', total: 2, used: 1, free: 1, perNode: 2, nodes: 1, states: 'allocated 1' },
    ]);
  });

  it('every shape of a request, or the first thing wrong with it', () => {
    const availability = parseSinfo(SINFO);
    const catalog = (typed: string) => {
      const found = builtinCatalog().lookup(typed);
      return found.ok ? [found.entry.key, found.entry.name, ...found.entry.aliases] : [];
    };
    const shapes = strategiesFor(
      { types: ['H100 80GB HBM3'], count: 8, minutes: 60 },
      availability,
      catalog,
    ) as Strategy[];
    assert.deepEqual(
      shapes.map((s) => `${s.nodes}x${s.perNode}`),
      ['1x8', '2x4'],
      '4 × 2 and 8 × 1 need more nodes than the partition has',
    );
    assert.deepEqual(
      (strategiesFor({ types: [], count: 2, minutes: 60 }, availability) as Strategy[]).map(
        (s) => `${s.type} ${s.nodes}x${s.perNode}`,
      ),
      ['a100 1x2', 'h100 1x2', 'h100 2x1'],
    );
    assert.match(
      (strategiesFor({ types: ['a100'], count: 3, minutes: 60 }, availability) as { message: string }).message,
      /^No way to place 3 GPUs in gpu: they need 1 node × 3 or 3 nodes × 1, but a100 has 2 per node on 1 node$/,
    );
    assert.equal(
      (strategiesFor({ types: [], count: 3, minutes: 60, nodes: 2 }, availability) as { message: string }).message,
      '3 GPUs do not split evenly over 2 nodes',
      'said once, not once per type',
    );
    const aliases = (typed: string) =>
      typed === 'Hopper 80' || typed === 'h100' ? ['h100-sxm', 'NVIDIA H100 80GB HBM3'] : [];
    assert.deepEqual(
      (strategiesFor({ types: ['Hopper 80'], count: 1, minutes: 60 }, availability, aliases) as Strategy[]).map(
        (s) => s.type,
      ),
      ['h100'],
      "through the GPU's other names",
    );
    assert.equal(
      (strategiesFor({ types: ['l4'], count: 1, minutes: 60 }, availability) as { hint: string }).hint,
      'it has a100, h100',
    );
    assert.match(
      (strategiesFor({ types: [], count: 1, minutes: 61, partition: 'short' }, availability) as { message: string })
        .message,
      /over the short partition's limit of 01:00:00/,
    );
    assert.match(
      (strategiesFor({ types: [], count: 1, minutes: 60, partition: 'shrot' }, availability) as { hint: string }).hint,
      /did you mean short/,
    );
  });

  it('a request no type can hold: one sentence, the types grouped by shape, not a clause per type and split', () => {
    const availability = parseSinfo(
      ['vm|gpu*|gpu:h100:4,gpu:a100:2,gpu:l4:2|gpu:h100:0,gpu:a100:0,gpu:l4:0|idle|2-00:00:00|'].join('\n'),
    );
    assert.equal(
      (strategiesFor({ types: [], count: 6, minutes: 60 }, availability) as { message: string }).message,
      'No way to place 6 GPUs in gpu: they need 1 node × 6, 2 nodes × 3, 3 nodes × 2 or 6 nodes × 1, but a100 and l4 have 2 per node on 1 node; h100 has 4 per node on 1 node',
    );
    assert.equal(
      noPlacement(8, 'gpu', [{ type: 'h100', perNode: 4, nodes: 1 }], [{ nodes: 4, perNode: 2 }]),
      'No way to place 8 GPUs in gpu: they need 4 nodes × 2, but h100 has 4 per node on 1 node',
    );
  });

  it('one script probes every strategy, every argument quoted; its output goes back to each', () => {
    const strategies: Strategy[] = [
      { type: 'h100', nodes: 1, perNode: 2, partition: 'gpu', minutes: 30 },
      { type: 'a100', nodes: 1, perNode: 2, partition: 'gpu', minutes: 30, account: "x'; rm -rf ~" },
      { type: 'h100', nodes: 2, perNode: 1, partition: 'gpu', minutes: 30 },
    ];
    const script = probeScript(strategies);
    assert.equal(script.split('\n').filter((line) => line.includes('sbatch --test-only')).length, 3);
    assert.ok(script.includes(`--account 'x'\\''; rm -rf ~'`));
    const output = [
      '@@gpudev-probe 0',
      'sbatch: Job 1 to start at 2026-11-23T13:37:38 using 1 processors on nodes vm in partition gpu',
      '@@gpudev-probe-exit 0',
      '@@gpudev-probe 1',
      'sbatch: Job 2 to start at 2026-11-23T15:00:00 using 1 processors on nodes vm in partition gpu',
      '@@gpudev-probe-exit 0',
      '@@gpudev-probe 2',
      'allocation failure: Requested node configuration is not available',
      '@@gpudev-probe-exit 1',
    ].join('\n');
    const probed = parseProbes(output, strategies, new Date('2026-11-23T13:37:30'), { h100: 3 });
    assert.deepEqual(
      probed.map((p) => [p.when, p.nodeList, p.reason, p.cost]),
      [
        ['now', 'vm', undefined, 3],
        ['later', 'vm', undefined, 1],
        ['never', null, 'Requested node configuration is not available', 3],
      ],
    );
  });

  it('ranks by start, then cost, then the order the user gave, then fewer nodes', () => {
    const at = (iso: string | null, type: string, cost: number, nodes = 1): ProbedStrategy => ({
      type,
      nodes,
      perNode: 1,
      partition: 'gpu',
      minutes: 60,
      start: iso ? new Date(iso) : null,
      nodeList: iso && 'n',
      when: iso ? 'now' : 'never',
      cost,
    });
    const ranked = rankStrategies(
      [
        at(null, 'h100', 1),
        at('2026-11-23T15:00:00Z', 'h100', 1),
        at('2026-11-23T14:00:00Z', 'a100', 2),
        at('2026-11-23T14:00:00Z', 'h100', 2, 2),
        at('2026-11-23T14:00:00Z', 'h100', 2),
      ],
      ['h100', 'a100'],
    );
    assert.deepEqual(
      ranked.map((p) => `${p.type}/${p.start?.toISOString().slice(11, 16) ?? 'never'}/${p.nodes}`),
      ['h100/14:00/1', 'h100/14:00/2', 'a100/14:00/1', 'h100/15:00/1', 'h100/never/1'],
    );
  });
});
