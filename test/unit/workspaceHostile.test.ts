import * as assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinCatalog } from '../../src/catalog/catalog';
import { analyzeDirectory } from '../../src/workspace/report';
import { declaredPackages } from '../../src/workspace/packages';
import { analyzeCommand, initCommand } from '../../src/workspaceCli';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
};

describe('hostile workspaces: nothing executed, bounded time', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gpudev-ws-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a binary requirements.txt, a symlink loop, a 200 MB file, $(...) and backticks', () => {
    const marker = join(dir, 'PWNED');
    writeFileSync(join(dir, 'requirements.txt'), Buffer.from([0x74, 0x6f, 0x72, 0x63, 0x68, 0x00, 0xff, 0xfe, 0x0a]));
    symlinkSync('.', join(dir, 'loop'));
    symlinkSync(join(dir, 'b'), join(dir, 'a'));
    symlinkSync(join(dir, 'a'), join(dir, 'b'));
    writeFileSync(join(dir, 'huge.py'), '');
    truncateSync(join(dir, 'huge.py'), 200 * 1024 * 1024); // sparse: no 200 MB on disk
    writeFileSync(
      join(dir, 'train.py'),
      `from transformers import AutoModel\nm = AutoModel.from_pretrained("$(touch ${marker})")\nn = AutoModel.from_pretrained(\`touch ${marker}\`)\n`,
    );
    writeFileSync(join(dir, 'Dockerfile'), `FROM $(touch ${marker})\nRUN pip install "$(touch ${marker})" torch\n`);
    writeFileSync(
      join(dir, 'launch.sh'),
      `torchrun --nproc_per_node=$(touch ${marker}) train.py --model_name_or_path \`touch ${marker}\`\n`,
    );
    const started = Date.now();
    const report = analyzeDirectory(dir, builtinCatalog());
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    assert.equal(existsSync(marker), false);
    assert.deepEqual(report.skipped, [
      'a: a symbolic link, not followed',
      'b: a symbolic link, not followed',
      'huge.py: 200 MiB, over the 1 MiB limit',
      'loop: a symbolic link, not followed',
      'requirements.txt: binary',
    ]);
    assert.equal(report.model, null);
    assert.equal(report.gpuCount, 1);
    assert.ok(!JSON.stringify(report.findings).includes('touch'), JSON.stringify(report.findings));
  });

  it('1 MiB files full of matches, lists that never close: one pass each, bounded time', () => {
    const fill = (line: string) => line.repeat(Math.floor(1000_000 / line.length));
    writeFileSync(join(dir, 'train.py'), fill('m = AutoModel.from_pretrained("org/model-7b", load_in_4bit=True)\n'));
    writeFileSync(join(dir, 'pyproject.toml'), `[project.optional-dependencies]\n${fill('a = ["torch", \n')}`);
    writeFileSync(join(dir, 'Dockerfile'), fill('RUN pip install torch \\\n'));
    writeFileSync(join(dir, 'requirements.txt'), fill('x'));
    const started = Date.now();
    const report = analyzeDirectory(dir, builtinCatalog());
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    assert.equal(report.model?.name, 'org/model-7b');
    assert.equal(report.findings.find((f) => f.what === 'loads model org/model-7b')?.line, 1);
  });

  it('a YAML alias bomb in .gpudev.yaml: a clear error with its line, fast; the analysis goes on without it', () => {
    const levels = 'abcdefghij'.split('');
    const lines = [`a: &a [${Array(10).fill('"lol"').join(',')}]`];
    for (let i = 1; i < levels.length; i++)
      lines.push(
        `${levels[i]}: &${levels[i]} [${Array(10)
          .fill(`*${levels[i - 1]}`)
          .join(',')}]`,
      );
    writeFileSync(join(dir, '.gpudev.yaml'), `${lines.join('\n')}\n`);
    const started = Date.now();
    const { io, err } = capture();
    assert.equal(analyzeCommand([dir], io), 1);
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    assert.match(err.join(''), /\.gpudev\.yaml:1:1: YAML: .*limited to 100 expansions/);
  });

  it('a .gpudev.yaml that links to /dev/zero is not read (no hang, no 1 MiB of NULs)', () => {
    symlinkSync('/dev/zero', join(dir, '.gpudev.yaml'));
    const { io, err } = capture();
    assert.equal(analyzeCommand([dir], io), 1);
    assert.match(err.join(''), /\.gpudev\.yaml:1:1: not read: a symbolic link, not followed/);
  });

  it('$(...) in .gpudev.yaml run/setup is data: never run by analyze or init', () => {
    const marker = join(dir, 'PWNED');
    writeFileSync(join(dir, '.gpudev.yaml'), `run: "$(touch ${marker})"\nsetup: "\`touch ${marker}\`"\n`);
    assert.equal(analyzeCommand([dir], capture().io), 0);
    assert.equal(initCommand([dir, '--force'], capture().io), 0);
    assert.equal(existsSync(marker), false);
  });
});

describe('gpudev analyze / init', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gpudev-ws-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'requirements.txt'), 'vllm\n');
    writeFileSync(
      join(dir, 'src', 'serve.py'),
      'from vllm import LLM\nllm = LLM(model="Qwen/Qwen2.5-7B-Instruct", max_model_len=4096)\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--json has the fields the issue names', () => {
    const { io, out } = capture();
    assert.equal(analyzeCommand([dir, '--json'], io), 0);
    const json = JSON.parse(out.join('')) as Record<string, unknown>;
    for (const key of ['workload', 'gpuCount', 'model', 'precision', 'estimate', 'fits', 'target', 'findings'])
      assert.ok(key in json, key);
    assert.deepEqual(json.model, { name: 'Qwen/Qwen2.5-7B-Instruct', params: 7.62e9, source: 'known model' });
    assert.deepEqual(Object.keys(json.estimate as object), ['totalGiB', 'lowGiB', 'highGiB', 'parts', 'unknowns']);
    assert.deepEqual((json.findings as unknown[])[1], {
      file: 'src/serve.py',
      line: 2,
      what: 'vLLM serves Qwen/Qwen2.5-7B-Instruct',
    });
  });

  it('init writes a .gpudev.yaml that reads back, and never overwrites one without --force', () => {
    assert.equal(initCommand([dir], capture().io), 0);
    const written = readFileSync(join(dir, '.gpudev.yaml'), 'utf8');
    assert.match(written, /^workload: inference$/m);
    assert.match(written, /^model: Qwen\/Qwen2\.5-7B-Instruct$/m);
    const { io, err } = capture();
    assert.equal(initCommand([dir], io), 1);
    assert.match(err.join(''), /exists: not overwritten \(--force to replace it\)/);
    const again = capture();
    assert.equal(analyzeCommand([dir], again.io), 0, again.err.join(''));
  });

  it('a DIR that is not a directory is a clear error', () => {
    const { io, err } = capture();
    assert.equal(analyzeCommand([join(dir, 'nope')], io), 2);
    assert.match(err.join(''), /is not a directory/);
  });
});

describe('declared packages, each with its line', () => {
  const refs = (path: string, text: string) =>
    declaredPackages([{ path, text }]).packages.map((p) => `${p.name}:${p.line}`);
  it('setup.py install_requires', () => {
    assert.deepEqual(
      refs(
        'setup.py',
        'from setuptools import setup\nsetup(\n  install_requires=[\n    "torch>=2",\n    "Flash_Attn",\n  ],\n)\n',
      ),
      ['torch:4', 'flash-attn:5'],
    );
  });
  it('setup.cfg install_requires', () => {
    assert.deepEqual(
      refs('setup.cfg', '[options]\ninstall_requires =\n    deepspeed>=0.14\n    peft\n[options.extras_require]\n'),
      ['deepspeed:3', 'peft:4'],
    );
  });
  it('Poetry dependencies', () => {
    assert.deepEqual(
      refs(
        'pyproject.toml',
        '[tool.poetry.dependencies]\npython = "^3.10"\ntorch = "^2.3"\nvllm = {version = "0.6"}\n',
      ),
      ['torch:3', 'vllm:4'],
    );
  });
  it('environment.yml, conda and pip', () => {
    assert.deepEqual(
      refs('environment.yml', 'name: x\ndependencies:\n  - python=3.11\n  - pytorch\n  - pip:\n    - trl==0.9\n'),
      ['pytorch:4', 'trl:6'],
    );
  });
  it('imports when nothing is declared', () => {
    const found = declaredPackages([{ path: 'a.py', text: 'import os\nfrom diffusers import FluxPipeline\n' }]);
    assert.equal(found.fromImports, true);
    assert.deepEqual(
      found.packages.map((p) => `${p.name}:${p.line}`),
      ['os:1', 'diffusers:2'],
    );
  });
});
