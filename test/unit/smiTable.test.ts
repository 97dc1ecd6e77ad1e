import * as assert from 'node:assert/strict';
import { parseSmiTable } from '../../src/hosts/nvidiaSmi/table';
import { smiFixtures } from './fixtures';

describe('parseSmiTable over every verbatim default and MIG table', () => {
  const fixtures = [...smiFixtures('default-'), ...smiFixtures('mig-')];

  it('has fixtures to read', () => assert.ok(fixtures.length >= 19, `only ${fixtures.length} fixtures`));

  for (const { name, text, meta } of fixtures) {
    it(name, () => {
      const expected = meta.expected!;
      const table = parseSmiTable(text);
      assert.deepEqual(table.problems, []);
      assert.deepEqual(table.header, {
        smiVersion: expected.header.nvidia_smi_version,
        driverVersion: expected.header.driver_version,
        cudaVersion: expected.header.cuda_version,
        style: expected.header.header_style,
      });
      assert.deepEqual(
        table.gpus.map((g) => ({
          index: g.index,
          name: g.name,
          memory_total_mib: g.memoryTotalMiB,
          memory_used_mib: g.memoryUsedMiB,
          power_cap_w: g.powerCapW,
          bus_id: g.busId,
          mig_mode: g.migMode,
        })),
        expected.gpus,
      );
      assert.deepEqual(
        table.migDevices.map((d) => ({
          gpu: d.gpu,
          gi: d.gi,
          ci: d.ci,
          mig_dev: d.migDev,
          memory_used_mib: d.memoryUsedMiB,
          memory_total_mib: d.memoryTotalMiB,
          sm: d.sm,
        })),
        expected.mig_devices.map(({ gpu, gi, ci, mig_dev, memory_used_mib, memory_total_mib, sm }) => ({
          gpu,
          gi,
          ci,
          mig_dev,
          memory_used_mib,
          memory_total_mib,
          sm,
        })),
      );
      assert.deepEqual(
        table.processes.map((p) => ({
          gpu: p.gpu,
          gi: p.gi,
          ci: p.ci,
          pid: p.pid,
          type: p.type,
          name: p.name,
          memory_mib: p.memoryMiB,
        })),
        expected.processes.map(({ gpu, gi, ci, pid, type, name, memory_mib }) => ({
          gpu,
          gi,
          ci,
          pid,
          type,
          name,
          memory_mib,
        })),
      );
    });
  }
});

describe('parseSmiTable on malformed input', () => {
  const good = smiFixtures('default-h100-535').at(0)!.text;

  it('empty output: no GPUs and a reason, no throw', () => {
    const table = parseSmiTable('');
    assert.deepEqual(table.gpus, []);
    assert.deepEqual(table.problems, ['no NVIDIA-SMI header line', 'no GPU rows']);
  });

  it('output cut in the middle of a GPU row keeps what was complete', () => {
    const cut = good.slice(0, good.indexOf('69W'));
    const table = parseSmiTable(cut);
    assert.equal(table.gpus.length, 1);
    assert.equal(table.gpus[0]!.name, 'NVIDIA H100 80GB HBM3');
    assert.equal(table.gpus[0]!.memoryTotalMiB, null);
  });

  it('a driver error message instead of a table', () => {
    const table = parseSmiTable("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n");
    assert.deepEqual(table.gpus, []);
    assert.ok(table.problems.length > 0);
  });

  it('garbage rows are reported, not thrown', () => {
    const table = parseSmiTable(
      good.replace('|   0  NVIDIA H100 80GB HBM3          On  |', '| \u0000\uFFFD garbage |'),
    );
    assert.deepEqual(table.gpus, []);
    assert.match(table.problems.join('\n'), /GPU row not understood/);
  });
});
