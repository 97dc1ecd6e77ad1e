import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { probeGpus, queryGpuReport } from '../../src/hosts/gpuProbe';
import { LocalRunner, type RunResult, type Runner } from '../../src/hosts/runner';
import { repoRoot } from './fixtures';

/** A local runner whose PATH starts with the fake nvidia-smi replaying `scenario`. */
function fakeGpuHost(scenario: string): LocalRunner {
  return new LocalRunner({
    ...process.env,
    PATH: `${path.join(repoRoot, 'lab/fake-gpu/bin')}:${process.env.PATH}`,
    GPUDEV_FAKE_SMI_SCENARIO: scenario,
  });
}

function cannedRunner(result: RunResult): Runner {
  return { label: 'box', run: () => Promise.resolve(result) };
}

describe('probeGpus', () => {
  it('reads every GPU of a host through a real process', async () => {
    const result = await probeGpus(fakeGpuHost('default-h100-x8-570.133.20'));
    assert.equal(result.kind, 'gpus');
    if (result.kind !== 'gpus') return;
    assert.equal(result.host, 'This machine');
    assert.equal(result.gpus.length, 8);
    assert.deepEqual(result.problems, []);
    assert.equal(result.gpus[0]!.uuid, 'GPU-e5f404f3-cc2a-cf0c-219f-dcf1a4e223f2');
    assert.equal(result.gpus[0]!.memoryUsedMiB, 26980);
    assert.equal(result.gpus[0]!.memoryTotalMiB, 81559);
    assert.equal(result.gpus[6]!.temperatureC, 86);
  });

  it('reads compute processes and ties them to their GPU by bus id, when asked', async () => {
    const result = await probeGpus(fakeGpuHost('default-h100-x8-570.133.20'), { processes: true });
    assert.equal(result.kind, 'gpus');
    if (result.kind !== 'gpus') return;
    assert.deepEqual(result.problems, []);
    assert.equal(
      result.gpus.reduce((n, g) => n + g.processes!.length, 0),
      15,
    );
    assert.deepEqual(result.gpus[0]!.processes![0], { pid: 2085037, name: 'python3', usedMemoryMiB: 13266 });
    const plain = await probeGpus(fakeGpuHost('default-h100-x8-570.133.20'));
    assert.ok(plain.kind === 'gpus' && plain.gpus[0]!.processes === undefined, 'not asked, not queried');
  });

  it('given a sample just streamed, reads only the processes and keeps that sample', async () => {
    const host = fakeGpuHost('default-h100-x8-570.133.20');
    const streamed = await probeGpus(host);
    assert.equal(streamed.kind, 'gpus');
    if (streamed.kind !== 'gpus') return;
    const asked: string[][] = [];
    const counting: Runner = {
      label: host.label,
      run: (argv, options) => {
        asked.push([...argv]);
        return host.run(argv, options);
      },
    };
    const result = await probeGpus(counting, { fresh: { ...streamed, at: 7 } }, () => 9);
    assert.deepEqual(
      asked.map((argv) => argv[1]!.split('=')[0]),
      ['--query-compute-apps'],
    );
    assert.ok(result.kind === 'gpus');
    assert.equal(result.at, 7);
    assert.deepEqual(result.gpus[0]!.processes![0], { pid: 2085037, name: 'python3', usedMemoryMiB: 13266 });
    assert.equal(result.gpus[0]!.memoryUsedMiB, streamed.gpus[0]!.memoryUsedMiB);
  });

  it('no nvidia-smi on PATH is "no driver", not an error', async () => {
    const result = await probeGpus(new LocalRunner({ ...process.env, PATH: '/nonexistent' }));
    assert.equal(result.kind, 'no-driver');
    if (result.kind === 'no-driver') assert.equal(result.error.message, 'No NVIDIA GPU: nvidia-smi not found');
  });

  it('a driver that cannot be reached is an error that quotes nvidia-smi', async () => {
    const result = await probeGpus(fakeGpuHost('driver-failure'));
    assert.equal(result.kind, 'error');
    if (result.kind === 'error')
      assert.match(
        result.error.message,
        /^nvidia-smi failed on This machine: NVIDIA-SMI has failed because it couldn't communicate/,
      );
  });

  it('a hung nvidia-smi is reported as not answering', async () => {
    const result = await probeGpus(cannedRunner({ exitCode: null, stdout: '', stderr: '', timedOut: true }));
    assert.equal(result.kind, 'error');
    if (result.kind === 'error') assert.equal(result.error.message, 'nvidia-smi did not answer on box');
  });

  it('queryGpuReport returns nvidia-smi -q verbatim, and a clear error without it', async () => {
    const report = await queryGpuReport(fakeGpuHost('default-h100-x8-570.133.20'), 0);
    assert.ok(report.ok && report.text.includes('Product Name                          : NVIDIA H100 80GB HBM3'));
    const missing = await queryGpuReport(new LocalRunner({ PATH: '/nonexistent' }), 0);
    assert.deepEqual(missing, {
      ok: false,
      error: { message: 'nvidia-smi -q failed on This machine: nvidia-smi not found' },
    });
  });
});
