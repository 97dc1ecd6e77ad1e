import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cosplayCommand } from '../../src/cosplayCli';

/** `gpudev cosplay <args>` in a working folder holding `yaml` as .gpudev.yaml (a host spec that stops before any connection). */
async function inFolder(yaml: string | undefined, args: readonly string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-cli-target-'));
  if (yaml !== undefined) fs.writeFileSync(path.join(dir, '.gpudev.yaml'), yaml);
  const before = process.cwd();
  const said: string[] = [];
  try {
    process.chdir(dir);
    const code = await cosplayCommand(args, { out: (t) => said.push(t), err: (t) => said.push(t) });
    return { code, said: said.join('') };
  } finally {
    process.chdir(before);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("gpudev cosplay up without a target takes .gpudev.yaml's gpu.target", () => {
  const badHost = ['--host', 'not a host!'];

  it('from the working folder, and says so', async () => {
    const { code, said } = await inFolder('gpu:\n  target: rtx3090\n', ['up', ...badHost]);
    assert.equal(code, 2);
    assert.match(said, /^target rtx3090 \(\.gpudev\.yaml\)\n/);
  });

  it('asks for one where the file names none, or there is no file', async () => {
    for (const yaml of ['gpu:\n  count: 1\n', undefined])
      assert.match((await inFolder(yaml, ['up', ...badHost])).said, /up needs one target/);
  });

  it('stops at a file that does not read cleanly, with its line', async () => {
    const { code, said } = await inFolder('gpu:\n  targt: rtx3090\n', ['up', ...badHost]);
    assert.equal(code, 2);
    assert.match(said, /\.gpudev\.yaml:2: .*targt.*did you mean target\?/);
  });

  it('a target on the command line wins, and the file is not read', async () => {
    const { said } = await inFolder('gpu:\n  targt: x\n', ['up', 'l4', ...badHost]);
    assert.doesNotMatch(said, /\.gpudev\.yaml/);
  });
});
