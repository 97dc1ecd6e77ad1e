import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import { askedType, describeMismatch, hardwareMismatch, recordedSummary } from '../../src/reserve/hardwareCheck';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LIST_SCRIPT, parseJobs, type Reservation } from '../../src/reserve/slurm/cluster';
import { localTime, parseClock, slurmTime } from '../../src/reserve/slurm/clusterClock';
import { describeGres, gresGpu, resolveGresType } from '../../src/reserve/slurm/gresTypes';
import { parseSinfo } from '../../src/reserve/slurm/sinfo';
import { parseProbes, sbatchOptions, strategiesFor } from '../../src/reserve/slurm/strategies';

const aliases = (typed: string) => {
  const found = builtinCatalog().lookup(typed);
  return found.ok ? [found.entry.key, found.entry.name, ...found.entry.aliases] : [];
};
const SITE = ['a10', 'l4', 'l40s', 'rtx6000', 'rtx6000ada', 'a100_80', 'a100-80g', 'h100_nvl', 'a100_1g.10gb'];
const resolved = (typed: string, types = SITE) => {
  const r = resolveGresType(typed, types, aliases);
  return 'message' in r ? `${r.message}: ${r.hint}` : r.join(',');
};

describe('GRES types: exact, through the catalog, or a site variant; never by substring', () => {
  it('every typed name resolves to exactly its type', () => {
    for (const [typed, type] of [
      ['L40S', 'l40s'],
      ['l4', 'l4'],
      ['NVIDIA L4', 'l4'],
      ['A10', 'a10'],
      ['rtx6000ada', 'rtx6000ada'],
      ['RTX 6000 Ada', 'rtx6000ada'],
      ['rtx6000', 'rtx6000'],
      ['A100 80GB', 'a100_80,a100-80g'],
      ['a100-sxm4-80gb', 'a100_80,a100-80g'],
      ['A100_80', 'a100_80'],
      ['H100 NVL', 'h100_nvl'],
      ['1g.10gb', 'a100_1g.10gb'],
      ['a100_1g.10gb', 'a100_1g.10gb'],
    ])
      assert.equal(resolved(typed!), type, typed);
  });

  it('"a100" on a cluster without it is refused with what the cluster has, not a10 or a100_80', () => {
    assert.equal(
      resolved('a100'),
      'No GPU type "a100" on this cluster: did you mean a10, a100_80? it has a10 (NVIDIA A10), l4 (NVIDIA L4), l40s (NVIDIA L40S), rtx6000, ' +
        'rtx6000ada (NVIDIA RTX 6000 Ada Generation), a100_80 (NVIDIA A100-SXM4-80GB), a100-80g (NVIDIA A100-SXM4-80GB), ' +
        'h100_nvl (NVIDIA H100 NVL), a100_1g.10gb (1g.10gb MIG slice of NVIDIA A100-SXM4-40GB)',
    );
    assert.match(resolved('L40S', ['l4', 'h100']), /^No GPU type "L40S"/);
    assert.match(resolved('rtx6000ada', ['rtx6000']), /^No GPU type "rtx6000ada"/);
    assert.match(resolved('H100', ['h100_nvl']), /^No GPU type "H100"/, 'an H100 SXM is not an H100 NVL');
    assert.match(resolved('', SITE), /^No GPU type ""/);
  });

  it('says which catalog GPU a GRES type is', () => {
    assert.deepEqual(gresGpu('a100_80', aliases), { key: 'a100-sxm4-80gb', name: 'NVIDIA A100-SXM4-80GB' });
    assert.equal(gresGpu('h100', aliases).key, 'h100-sxm');
    assert.deepEqual(gresGpu('1g.10gb', aliases), { mig: { profile: '1g.10gb', slices: 1 } });
    assert.deepEqual(gresGpu('rtx6000', aliases), {});
    assert.equal(describeGres('h100_nvl', aliases), 'h100_nvl (NVIDIA H100 NVL)');
  });

  it("MIG strategies ask for a slice's share of the node: CPUs and memory, at least 1 and 1 GiB", () => {
    const sinfo = parseSinfo(
      'n1|gpu*|gpu:a100:4,gpu:a100_3g.40gb:2,gpu:a100_1g.10gb:7|gpu:0|idle|1-00:00:00|64|512000|',
    );
    const plan = strategiesFor({ types: ['a100_1g.10gb', 'a100_3g.40gb'], count: 1, minutes: 60 }, sinfo, aliases);
    assert.ok(!('message' in plan));
    // 4 + 2·3/7 + 7·1/7 → 6 GPUs' worth: 64/6 CPUs and 500 GiB/6 per GPU, a seventh per slice.
    assert.deepEqual(
      plan.map((s) => [s.type, s.cpusPerTask, s.memMiB]),
      [
        ['a100_1g.10gb', 1, 12190],
        ['a100_3g.40gb', 4, 36571],
      ],
    );
    assert.deepEqual(sbatchOptions(plan[0]!).slice(-4), ['--cpus-per-task', '1', '--mem', '12190M']);
    assert.equal(plan[0]!.gpu, '1g.10gb MIG slice of NVIDIA A100-SXM4-40GB');
  });
});

describe("the cluster's clock and zone", () => {
  it("reads Slurm times in the login node's zone, whatever this machine's is", () => {
    const clock = parseClock('x\n@@gpudev-clock 1796268600 -1100\n')!;
    assert.deepEqual(clock, { epochMs: 1796268600_000, offsetMinutes: -660, zone: '-1100' });
    assert.equal(slurmTime('2026-12-02T16:30:00', clock)!.toISOString(), '2026-12-03T03:30:00.000Z');
    assert.equal(slurmTime('N/A', clock), null);
    assert.equal(parseClock('@@gpudev-clock 1 +0530\n')!.offsetMinutes, 330);
    assert.match(localTime(new Date(2026, 11, 3, 9, 5)), /^2026-12-03 09:05$/);
  });

  it('an idle cluster in UTC-11 starts "now", compared with its own clock', () => {
    const strategy = { type: 'l4', nodes: 1, perNode: 1, partition: 'gpu', minutes: 10 };
    const output = [
      '@@gpudev-clock 1796268600 -1100',
      '@@gpudev-probe 0',
      'sbatch: Job 3 to start at 2026-12-02T16:30:05 using 1 processors on nodes vm in partition gpu',
      '@@gpudev-probe-exit 0',
    ].join('\n');
    const [probed] = parseProbes(output, [strategy], new Date(0));
    assert.equal(probed!.when, 'now');
    assert.equal(probed!.clusterZone, '-1100');
  });
});

describe('recorded GPUs and the hardware check', () => {
  const listed = [
    '@@gpudev-clock 1796268600 +0000',
    '41|gpudev-x|RUNNING|vm|gres/gpu:a100_80:1|59:00|None|2026-12-03T03:29:00|gpu|rewritten-by-plugin|1:00:00|1',
    '42|other|RUNNING|vm|gres/gpu:l4:1|59:00|None|2026-12-03T03:29:00|gpu|gpudev|1:00:00|1',
    '43|someone-else|RUNNING|vm|gres/gpu:l4:1|59:00|None|N/A|gpu||1:00:00|1',
    '@@gpudev-gpus /home/u/.gpudev/jobs/41/gpus-vm.csv',
    'NVIDIA L4, 23034, GPU-0c9e2a4e-1111-2222-3333-444455556666',
    '@@gpudev-gpus /home/u/.gpudev/jobs/42/gpus-vm.csv',
    'NVIDIA L4, 23034, GPU-0c9e2a4e-1111-2222-3333-444455556667',
    '$(rm -rf ~), x, y',
  ].join('\n');

  it('finds jobs by the gpudev- name prefix as well as the comment; reads what their nodes have', () => {
    const jobs = parseJobs(listed);
    assert.deepEqual(
      jobs.map((j) => [j.jobId, j.startsAt, j.clusterZone, j.gpus?.map((g) => g.name)]),
      [
        ['41', Date.UTC(2026, 11, 3, 3, 29), '+0000', ['NVIDIA L4']],
        ['42', Date.UTC(2026, 11, 3, 3, 29), '+0000', ['NVIDIA L4']],
      ],
    );
  });

  it('a node whose GPUs are not the GRES type asked for is a mismatch naming the node', () => {
    const [asked80, askedL4] = parseJobs(listed) as [Reservation, Reservation];
    assert.equal(askedType(asked80.gres), 'a100_80');
    const mismatch = hardwareMismatch(asked80, aliases)!;
    assert.deepEqual(mismatch.nodes, ['vm']);
    assert.equal(describeMismatch(mismatch), 'job 41 asked for a100_80 (NVIDIA A100-SXM4-80GB) but vm has NVIDIA L4');
    assert.equal(hardwareMismatch(askedL4, aliases), undefined);
    assert.equal(recordedSummary(askedL4), 'NVIDIA L4 ×1');
  });
});

describe("the watch's listing script (sh -s, a squeue that predates --me)", () => {
  it('falls back to squeue -u $USER, prints the clock and the recorded GPUs, all through sh -s', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-list-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'home/.gpudev/jobs/77'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'home/.gpudev/jobs/77/gpus-n1.csv'), 'NVIDIA H100 80GB HBM3, 81559, GPU-abc-1\n');
    fs.writeFileSync(
      path.join(dir, 'bin/squeue'),
      [
        '#!/bin/sh',
        `echo "$*" >> ${JSON.stringify(path.join(dir, 'calls'))}`,
        'case "$*" in *--me*) echo "squeue: unrecognized option \'--me\'" >&2; exit 1 ;; esac',
        'echo "77|gpudev-h100x1|RUNNING|n1|gres/gpu:h100:1|59:00|None|2026-12-03T03:29:00|gpu|gpudev|1:00:00|1"',
      ].join('\n'),
      { mode: 0o755 },
    );
    const result = spawnSync('sh', ['-s'], {
      input: LIST_SCRIPT,
      encoding: 'utf8',
      env: { PATH: `${dir}/bin:/usr/bin:/bin`, HOME: path.join(dir, 'home'), USER: 'alice' },
    });
    const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n');
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      calls.map((c) => c.split(' -o ')[0]),
      ['-h --me', '-h -u alice'],
    );
    const [job] = parseJobs(result.stdout);
    assert.equal(job!.jobId, '77');
    assert.match(job!.clusterZone!, /^[+-]\d{4}$/);
    assert.deepEqual(job!.gpus, [{ node: 'n1', name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, uuid: 'GPU-abc-1' }]);
  });
});
