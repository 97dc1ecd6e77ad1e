import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { newSessionName } from '../../src/cosplay/apply';
import { fidelityReport, historyFor, parseBenchOutput, reportFileName } from '../../src/cosplay/benchReport';
import { fidelityView } from '../../src/cosplay/fidelityView';
import { createdGpuInstance, hostArgv, memoryClockAtMost, migUuidsOf } from '../../src/cosplay/hostCommands';
import { planCosplay } from '../../src/cosplay/planner';
import { expectedOf, type Session } from '../../src/cosplay/session';
import { parseVerifyReport, verifySummary } from '../../src/cosplay/verifyReport';
import { dockerFailure } from '../../src/hosts/docker';
import { tarArchive, tarFolder } from '../../src/hosts/tar';
import { gaugeView } from '../../src/monitor/gauge';
import { smiFixtureDir } from './fixtures';
import { tempDir } from './tempDir';

const catalog = builtinCatalog();
const entry = (key: string) => {
  const found = catalog.lookup(key);
  if (!found.ok) throw new Error(key);
  return found.entry;
};
const plan = (() => {
  const result = planCosplay({ target: entry('rtx3090'), host: entry('h100-sxm'), strategy: 'mps' });
  if (!result.ok) throw new Error(result.error.message);
  return result.plan;
})();
const session: Session = {
  name: 'gpudev-rtx3090-gpu0-beef',
  owner: 'ada@laptop',
  containerId: 'c0ffee',
  running: true,
  state: 'running',
  createdMs: 0,
  hostLabel: 'lab',
  gpuIndex: 0,
  gpuUuid: 'GPU-10f35015-e921-bfab-2eb8-4e9b6664d5f1',
  journal: 'user',
  changes: ['power capped at 350 W'],
  plan: {
    target: 'rtx3090',
    targetName: 'NVIDIA GeForce RTX 3090',
    host: 'h100-sxm',
    strategy: 'mps',
    gpuUuid: 'GPU-1',
    device: 'GPU-1',
    vramMiB: 24576,
    clockLockMHz: 1965,
    powerCapW: 350,
    memoryClockShare: null,
    expected: expectedOf(plan),
  },
};

describe('cosplay sessions: labels, host commands, reports', () => {
  it('the bench metrics of the plan are the fidelity rows it can measure', () => {
    assert.deepEqual(
      expectedOf(plan).map((e) => e.metric),
      ['fp32', 'bf16', 'fp16', 'tf32', 'bandwidth'],
    );
    assert.equal(expectedOf(plan)[0]!.target, 35.6);
  });

  it('runs host commands with sudo -n and env by argv', () => {
    assert.deepEqual(
      hostArgv(
        { argv: ['nvidia-cuda-mps-control'], stdin: 'quit\n', env: { CUDA_MPS_PIPE_DIRECTORY: '/tmp/p' } },
        true,
      ),
      ['sudo', '-n', 'env', 'CUDA_MPS_PIPE_DIRECTORY=/tmp/p', 'nvidia-cuda-mps-control'],
    );
    assert.deepEqual(hostArgv({ argv: ['nvidia-smi', '-rgc'] }, false), ['nvidia-smi', '-rgc']);
  });

  it('reads what nvidia-smi says when it creates MIG instances, and the new MIG UUIDs of one GPU', () => {
    assert.equal(
      createdGpuInstance(
        'Successfully created GPU instance ID  5 on GPU  0 using profile MIG 1g.10gb (ID 19)\nSuccessfully created compute instance ID  0 on GPU  0 GPU instance ID  5 using profile MIG 1g.10gb (ID  0)',
      ),
      '5',
    );
    assert.equal(createdGpuInstance('Failed to create GPU instances: Insufficient Resources'), null);
    const listing = fs.readFileSync(path.join(smiFixtureDir, 'list-h100-pcie-mig7x1g.txt'), 'utf8');
    assert.equal(migUuidsOf(listing, 0).length, 7);
    assert.deepEqual(migUuidsOf(listing, 1), []);
  });

  it('picks the highest memory clock under the share', () => {
    assert.equal(memoryClockAtMost('9501\n9251\n5001\n810\n405\n', 60), 5001);
    assert.equal(memoryClockAtMost('9501\n405\n', 1), 405);
    assert.equal(memoryClockAtMost('[N/A]\n', 50), null);
  });

  it('names sessions as Docker accepts them', () => {
    assert.equal(
      newSessionName('rtx 3090/x', 3, () => 0.5),
      'gpudev-rtx-3090-x-gpu3-8000',
    );
  });

  it('explains Docker failures: missing engine, permissions, no NVIDIA runtime', () => {
    const target = { label: 'lab', socketPath: '/var/run/docker.sock' };
    assert.match(
      dockerFailure(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }), target).failure
        .message,
      /Docker is not running on lab/,
    );
    assert.match(
      dockerFailure(Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' }), target).failure
        .hint!,
      /docker group/,
    );
    const runtime = dockerFailure(
      { statusCode: 500, json: { message: 'could not select device driver "nvidia" with capabilities: [[gpu]]' } },
      target,
    ).failure;
    assert.equal(runtime.hint, 'install NVIDIA Container Toolkit on lab and restart Docker');
  });

  it('verify reports are parsed defensively and summarised', () => {
    const report = parseVerifyReport(
      JSON.stringify({
        checks: [
          { id: 'a', title: 'A', status: 'pass', expected: 1, actual: 1, detail: '' },
          { id: 'b', title: 'B', status: 'fail', expected: 350, actual: 700, detail: '' },
          { id: 'c', title: 'C', status: 'skip', expected: null, actual: null, detail: 'no MPS' },
        ],
      }),
    );
    assert.ok(report.ok);
    assert.equal(verifySummary(report.report), '✗ 1/2');
    assert.match(
      (parseVerifyReport('Traceback (most recent call last)') as { error: string }).error,
      /did not print JSON: Traceback/,
    );
    assert.ok(!parseVerifyReport('{"checks":[{"id":1}]}').ok);
  });

  it('a bench run becomes a fidelity report with ratios to the datasheet, a safe file name and its history', () => {
    const output = parseBenchOutput(
      JSON.stringify({
        target: 'NVIDIA GeForce RTX 3090',
        device: 'NVIDIA GeForce RTX 3090',
        results: [
          { metric: 'fp32', unit: 'TFLOPS', size: 4096, samples: [34, 35, 36], median: 35 },
          { metric: 'bandwidth', unit: 'GB/s', size: 1, samples: [2000], median: 2000 },
        ],
        skipped: { tf32: 'the target has no TF32 tensor path' },
        error: null,
      }),
    );
    assert.ok(output.ok);
    const report = fidelityReport(
      { ...session, hostLabel: 'lab/../x y' },
      output.output,
      new Date('2026-11-23T12:00:00.123Z'),
    );
    const fp32 = report.rows.find((r) => r.metric === 'fp32')!;
    assert.equal(fp32.measured, 35);
    assert.ok(Math.abs(fp32.ratio! - 35 / 35.6) < 1e-9);
    assert.equal(report.rows.find((r) => r.metric === 'tf32')!.note, 'the target has no TF32 tensor path');
    assert.equal(reportFileName(report), 'rtx3090-on-lab-x-y-2026-11-23T12-00-00Z.json');
    const earlier = { ...report, at: '2026-11-22T12:00:00.000Z' };
    const view = fidelityView(report, [report, earlier, { ...earlier, host: 'other' }], '.gpudev/reports/x.json');
    assert.equal(view.history.length, 1);
    assert.equal(view.rows.find((r) => r.label === 'FP32')!.level, 'match');
    assert.equal(view.rows.find((r) => r.label === 'Bandwidth')!.level, 'off');
    assert.deepEqual(historyFor(report, [report]), []);
    assert.match(
      (
        parseBenchOutput(
          JSON.stringify({ target: null, results: [], skipped: {}, error: 'torch is not installed' }),
        ) as { error: string }
      ).error,
      /torch is not installed/,
    );
  });

  it('the gauge of a cosplayed GPU measures against the target', () => {
    const gpu = {
      index: 0,
      uuid: 'GPU-1',
      name: 'NVIDIA H100 80GB HBM3',
      memoryUsedMiB: 12288,
      memoryTotalMiB: 81559,
      utilizationPct: 3,
      temperatureC: 30,
      powerDrawW: 70,
      powerLimitW: 700,
      migMode: 'Disabled',
    };
    const view = gaugeView(
      { kind: 'gpus', host: 'This machine', at: 0, gpus: [gpu], problems: [] },
      { warnPercent: 40, errorPercent: 95 },
      undefined,
      () => ({ target: 'RTX 3090', vramMiB: 24576 }),
    )!;
    assert.equal(view.text, '$(chip) 12.0/24.0 GiB · RTX 3090');
    assert.equal(view.level, 'warning');
    assert.match(view.accessibleLabel, /the RTX 3090 budget/);
  });

  it('tar archives unpack with GNU tar: folders, modes, long paths', () => {
    const dir = tempDir('gpudev-tar-');
    const long = `${'d'.repeat(90)}/${'f'.repeat(60)}.py`;
    fs.writeFileSync(
      path.join(dir, 'archive.tar'),
      tarArchive([
        { name: 'opt/', mode: 0o755 },
        { name: 'opt/run', mode: 0o755, content: Buffer.from('#!/bin/sh\n') },
        { name: `opt/${long}`, mode: 0o644, content: Buffer.from('x = 1\n') },
      ]),
    );
    execFileSync('tar', ['-xf', 'archive.tar'], { cwd: dir });
    assert.equal(fs.statSync(path.join(dir, 'opt/run')).mode & 0o777, 0o755);
    assert.equal(fs.readFileSync(path.join(dir, 'opt', long), 'utf8'), 'x = 1\n');
  });

  it('the shim archive holds the shim without its tests', async () => {
    const { repoRoot } = await import('./fixtures');
    const listing = execFileSync('tar', ['-t'], {
      input: await tarFolder(
        path.join(repoRoot, 'shim'),
        'opt/gpudev/shim',
        (p) => p === 'tests' || p.endsWith('__pycache__'),
      ),
    })
      .toString()
      .split('\n');
    assert.ok(listing.includes('opt/gpudev/shim/verify.py') && listing.includes('opt/gpudev/shim/bin/nvidia-smi'));
    assert.ok(!listing.some((l) => l.includes('/tests/')));
  });
});
