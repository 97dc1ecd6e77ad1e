import * as assert from 'node:assert/strict';
import { MONITOR_FIELDS, monitorQueryArgs, parseQueryCsv, toGpuSamples } from '../../src/hosts/nvidiaSmi/queryCsv';
import { smiFixtures } from './fixtures';

/** The query's field list, read from the fixture's recorded command. */
function fieldsOf(command: string): string[] {
  return /--query-gpu[= ](\S+)/.exec(command)![1]!.split(',');
}

describe('parseQueryCsv over every verbatim --query-gpu fixture', () => {
  const fixtures = smiFixtures('query-');
  it('has fixtures to read', () => assert.ok(fixtures.length >= 4));

  for (const { name, text, meta } of fixtures) {
    it(name, () => {
      const fields = fieldsOf(meta.command);
      const withHeader = !meta.command.includes('noheader');
      const query = parseQueryCsv(text, withHeader ? undefined : fields);
      assert.deepEqual(query.problems, []);
      assert.deepEqual(query.fields, fields);
      assert.equal(query.rows.length, text.trim().split('\n').length - (withHeader ? 1 : 0));
      for (const row of query.rows) for (const field of fields) assert.notEqual(row[field], undefined);
    });
  }

  it('reads units off values with a header (81559 MiB)', () => {
    const [h100] = smiFixtures('query-h100-x8-name-memtotal');
    const gpus = toGpuSamples(parseQueryCsv(h100!.text));
    assert.equal(gpus.length, 8);
    assert.deepEqual(
      gpus.map((g) => g.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(gpus[7]!.name, 'NVIDIA H100 80GB HBM3');
    assert.equal(gpus[7]!.memoryTotalMiB, 81559);
  });

  it('reads bare numbers with noheader,nounits', () => {
    const [rtx] = smiFixtures('query-rtx5090');
    const [gpu] = toGpuSamples(
      parseQueryCsv(rtx!.text, ['index', 'name', 'memory.total', 'memory.used', 'utilization.gpu']),
    );
    assert.deepEqual(
      {
        index: gpu!.index,
        name: gpu!.name,
        total: gpu!.memoryTotalMiB,
        used: gpu!.memoryUsedMiB,
        util: gpu!.utilizationPct,
      },
      { index: 0, name: 'NVIDIA GeForce RTX 5090', total: 32607, used: 20139, util: 4 },
    );
  });
});

describe('parseQueryCsv on malformed monitor output', () => {
  const line =
    '0, GPU-5a7b1c6e-0d5e-4b1a-9a0c-6f1e2d3c4b5a, NVIDIA H100 80GB HBM3, 1024, 81559, 37, 41, 123.45, 700.00, Disabled, 00000000:19:00.0';
  const parse = (text: string) => parseQueryCsv(text, MONITOR_FIELDS);

  it('asks nvidia-smi for exactly the monitor fields', () => {
    assert.deepEqual(monitorQueryArgs(), [`--query-gpu=${MONITOR_FIELDS.join(',')}`, '--format=csv,noheader,nounits']);
  });

  it('a well-formed line', () => {
    const [gpu] = toGpuSamples(parse(`${line}\n`));
    assert.deepEqual(gpu, {
      index: 0,
      uuid: 'GPU-5a7b1c6e-0d5e-4b1a-9a0c-6f1e2d3c4b5a',
      name: 'NVIDIA H100 80GB HBM3',
      memoryUsedMiB: 1024,
      memoryTotalMiB: 81559,
      utilizationPct: 37,
      temperatureC: 41,
      powerDrawW: 123.45,
      powerLimitW: 700,
      migMode: 'Disabled',
      busId: '00000000:19:00.0',
    });
  });

  it('empty output: no rows, no problems, no throw', () => {
    assert.deepEqual(parse(''), { fields: MONITOR_FIELDS, rows: [], problems: [] });
  });

  it('[N/A] and [Not Supported] become null', () => {
    const [gpu] = toGpuSamples(
      parse(
        '0, [N/A], NVIDIA GeForce RTX 3090, 139, 24576, [Not Supported], 46, [N/A], 350.00, [N/A], 00000000:2D:00.0\n',
      ),
    );
    assert.equal(gpu!.uuid, null);
    assert.equal(gpu!.utilizationPct, null);
    assert.equal(gpu!.powerDrawW, null);
    assert.equal(gpu!.migMode, null);
    assert.equal(gpu!.memoryTotalMiB, 24576);
  });

  it('a truncated line is a partial result with a problem', () => {
    const query = parse(`${line}\n1, GPU-77, NVIDIA H1`);
    const gpus = toGpuSamples(query);
    assert.equal(gpus.length, 2);
    assert.equal(gpus[1]!.name, 'NVIDIA H1');
    assert.equal(gpus[1]!.memoryTotalMiB, null);
    assert.match(query.problems[0]!, /line 2: 3 values for 11 fields/);
  });

  it('extra columns are reported and the known ones kept', () => {
    const query = parse(`${line}, 99, extra\n`);
    assert.equal(toGpuSamples(query)[0]!.migMode, 'Disabled');
    assert.match(query.problems[0]!, /13 values for 11 fields/);
  });

  it('a header line is skipped even when noheader was asked for', () => {
    const query = parse(
      `index, uuid, name, memory.used [MiB], memory.total [MiB], utilization.gpu [%], temperature.gpu, power.draw [W], power.limit [W], mig.mode.current, pci.bus_id\n${line}\n`,
    );
    assert.equal(query.rows.length, 1);
  });

  it('non-UTF-8 bytes do not throw and numbers still parse', () => {
    const bytes = Buffer.concat([
      Buffer.from('0, GPU-1, NVIDIA '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(', 10, 100, 5, 30, 50, 300, Enabled, 00000000:01:00.0\n'),
    ]);
    const [gpu] = toGpuSamples(parse(bytes.toString('utf8')));
    assert.match(gpu!.name, /^NVIDIA \uFFFD/);
    assert.equal(gpu!.memoryTotalMiB, 100);
  });

  it('garbage numbers become null, an index that is not a number falls back to the position', () => {
    const [gpu] = toGpuSamples(parse('x, GPU-1, Weird, lots, 100MiB?, 5, 30, 50, 300, Enabled, 00000000:01:00.0\n'));
    assert.equal(gpu!.index, 0);
    assert.equal(gpu!.memoryUsedMiB, null);
    assert.equal(gpu!.memoryTotalMiB, null);
  });
});
