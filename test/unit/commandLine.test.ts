import * as assert from 'node:assert/strict';
import { splitCommandLine } from '../../src/reserve/commandLine';

describe('a typed command line as words (no expansion)', () => {
  it('splits like a shell: quotes, backslashes, empty words', () => {
    assert.deepEqual(splitCommandLine(`torchrun --nproc_per_node 2  train.py --config "my cfg.yaml"`), [
      'torchrun',
      '--nproc_per_node',
      '2',
      'train.py',
      '--config',
      'my cfg.yaml',
    ]);
    assert.deepEqual(splitCommandLine(`sh -c 'echo $HOME; ls' a\\ b "q\\"x" ''`), [
      'sh',
      '-c',
      'echo $HOME; ls',
      'a b',
      'q"x',
      '',
    ]);
    assert.deepEqual(splitCommandLine('   '), []);
  });

  it('refuses an open quote', () => {
    assert.equal(splitCommandLine(`python "train.py`), 'the double quote is not closed');
    assert.equal(splitCommandLine(`echo 'x`), 'the single quote is not closed');
  });
});
