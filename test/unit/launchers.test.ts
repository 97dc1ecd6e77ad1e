import * as assert from 'node:assert/strict';
import { launchFiles } from '../../src/reserve/launchers';

const workspace = ['train.py', 'cfg.yaml', 'ds.json', 'pkg/train.py', 'tools/__main__.py', 'run.sh', 'data/small.csv'];
const files = (argv: string[], extra: string[] = []) =>
  launchFiles(
    argv,
    (f) => [...workspace, ...extra].includes(f),
    () => workspace,
  );

describe('launchers: the workspace files a command names', () => {
  it('torchrun … train.py --config cfg.yaml: both files', () => {
    assert.deepEqual(files(['torchrun', '--nproc_per_node', '2', '--standalone', 'train.py', '--config', 'cfg.yaml']), {
      files: ['train.py', 'cfg.yaml'],
      problems: [],
    });
    assert.deepEqual(files(['torchrun', '--nproc-per-node=4', './train.py', '--config=cfg.yaml']).files, [
      'train.py',
      'cfg.yaml',
    ]);
  });

  it('accelerate launch, deepspeed, python -m torch.distributed.run, python -u', () => {
    assert.deepEqual(files(['accelerate', 'launch', '--multi_gpu', '--num_processes', '2', 'train.py']).files, [
      'train.py',
    ]);
    assert.deepEqual(files(['deepspeed', '--num_gpus', '2', 'train.py', '--deepspeed', 'ds.json']).files, [
      'train.py',
      'ds.json',
    ]);
    assert.deepEqual(files(['python', '-m', 'torch.distributed.run', '--nproc_per_node=2', 'train.py']).files, [
      'train.py',
    ]);
    assert.deepEqual(files(['python3', '-u', '-X', 'dev', 'train.py', 'data/small.csv']).files, [
      'train.py',
      'data/small.csv',
    ]);
    assert.deepEqual(files(['env', 'A=1', 'python', 'train.py']).files, ['train.py']);
  });

  it('python -m and torchrun -m: the module when it is in the workspace, nothing when it is installed', () => {
    assert.deepEqual(files(['python', '-m', 'pkg.train', '--config', 'cfg.yaml']).files, ['pkg/train.py', 'cfg.yaml']);
    assert.deepEqual(files(['python', '-mtools']).files, ['tools/__main__.py']);
    assert.deepEqual(files(['torchrun', '--standalone', '-m', 'pkg.train']).files, ['pkg/train.py']);
    assert.deepEqual(files(['python', '-m', 'pip', 'list']), { files: [], problems: [] });
  });

  it('a missing script or config file is refused, with what is near', () => {
    assert.deepEqual(files(['torchrun', '--standalone', 'trian.py']).problems, [
      'the script trian.py is not in the workspace: did you mean train.py?',
    ]);
    assert.deepEqual(files(['python', 'train.py', '--config', 'cgf.yaml']).problems, [
      "--config's file cgf.yaml is not in the workspace: did you mean cfg.yaml?",
    ]);
    assert.deepEqual(files(['./missing.sh']).problems, ['the script missing.sh is not in the workspace']);
  });

  it('plain programs and outputs are left alone', () => {
    assert.deepEqual(files(['nvidia-smi', '-L']), { files: [], problems: [] });
    assert.deepEqual(files(['bash', 'run.sh', '--out', 'results.json']), { files: ['run.sh'], problems: [] });
    assert.deepEqual(files(['python', '-c', 'print(1)']), { files: [], problems: [] });
  });
});
