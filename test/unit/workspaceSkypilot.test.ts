import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinCatalog } from '../../src/catalog/catalog';
import { analyzeDirectory } from '../../src/workspace/report';
import { skyPilotTask, skyPilotYaml } from '../../src/workspace/skypilot';
import { skyPilotErrors, skyPilotYamlErrors } from './skypilotValidator';

const examples = 'test/fixtures/skypilot/examples';
const workspaces = 'test/fixtures/workspaces';

describe('SkyPilot export', () => {
  describe('the validator, proven on SkyPilot’s own examples', () => {
    for (const file of readdirSync(examples)) {
      it(`accepts ${file}`, () => {
        assert.deepEqual(skyPilotYamlErrors(readFileSync(`${examples}/${file}`, 'utf8')), []);
      });
    }
    const rejected: [string, unknown][] = [
      ['an extra resources key and a numeric accelerators', { resources: { accelerators: 5, bogus: 1 } }],
      ['an unknown top-level key', { run: 'x', bogus: 1 }],
      ['an unknown cloud', { resources: { cloud: 'notacloud' } }],
      ['an env name starting with a digit', { envs: { '1BAD': 'x' } }],
      ['num_nodes as a word', { num_nodes: 'two' }],
      ['an infra that names no cloud', { resources: { infra: 'nocloud/us' } }],
      ['list accelerators inside any_of', { resources: { any_of: [{ accelerators: ['L4'] }] } }],
      ['an unknown autostop.wait_for', { resources: { autostop: { wait_for: 'foo' } } }],
    ];
    for (const [what, task] of rejected) it(`rejects ${what}`, () => assert.notDeepEqual(skyPilotErrors(task), []));
    const accepted: [string, unknown][] = [
      ['cloud: AWS (case-insensitive)', { resources: { cloud: 'AWS' } }],
      ['gpus: H100:8 (the alias)', { resources: { gpus: 'H100:8' } }],
      ['infra: gcp/us-central1', { resources: { infra: 'GCP/us-central1' } }],
    ];
    for (const [what, task] of accepted) it(`accepts ${what}`, () => assert.deepEqual(skyPilotErrors(task), []));
  });

  for (const name of readdirSync(workspaces).filter((n) => n !== 'empty')) {
    it(`exports ${name} as a valid SkyPilot task`, () => {
      const report = analyzeDirectory(`${workspaces}/${name}`, builtinCatalog());
      const task = skyPilotTask({
        name,
        fits: report.fits,
        gpuCount: report.gpuCount,
        ...(report.analysis.image ? { image: report.analysis.image } : {}),
        entry: report.entry,
      });
      assert.ok(!('error' in task), JSON.stringify(task));
      const text = skyPilotYaml(task);
      assert.deepEqual(skyPilotYamlErrors(text), [], text);
    });
  }

  it('carries .gpudev.yaml: image, env, setup, run, infra, and num_nodes past 8 GPUs', () => {
    const task = skyPilotTask({
      name: 'my project',
      fits: ['rtx4090', 'l4', 'a100-sxm4-80gb', 'h100-sxm'],
      gpuCount: 16,
      config: {
        image: 'nvcr.io/nvidia/pytorch:24.08-py3',
        env: { HF_HOME: '/data/hf', WANDB_MODE: 'offline' },
        setup: 'pip install -r requirements.txt',
        run: 'torchrun --nproc_per_node=8 train.py',
        cluster: 'gcp',
      },
    });
    assert.ok(!('error' in task));
    assert.deepEqual(task, {
      name: 'my-project',
      workdir: '.',
      num_nodes: 2,
      resources: {
        accelerators: { RTX4090: 8, L4: 8, 'A100-80GB': 8 },
        image_id: 'docker:nvcr.io/nvidia/pytorch:24.08-py3',
        infra: 'gcp',
      },
      envs: { HF_HOME: '/data/hf', WANDB_MODE: 'offline' },
      setup: 'pip install -r requirements.txt',
      run: 'torchrun --nproc_per_node=8 train.py',
    });
    assert.deepEqual(skyPilotYamlErrors(skyPilotYaml(task)), []);
  });

  it('without .gpudev.yaml, setup and run come from the workspace root', () => {
    const report = analyzeDirectory(`${workspaces}/vllm-server`, builtinCatalog());
    const task = skyPilotTask({ name: 'vllm-server', fits: report.fits, gpuCount: 1, entry: report.entry });
    assert.ok(!('error' in task));
    assert.equal(task.setup, 'pip install -r requirements.txt');
    assert.equal(task.run, 'python serve.py');
    const ddp = analyzeDirectory(`${workspaces}/torchrun-ddp`, builtinCatalog()).entry;
    assert.deepEqual(ddp, { run: 'bash launch.sh' });
  });

  it('says so when no GPU SkyPilot rents fits', () => {
    const task = skyPilotTask({ name: 'x', fits: ['gtx1650'], gpuCount: 1 });
    assert.match(String((task as { error: string }).error), /no GPU that SkyPilot rents fits/);
  });
});
