// `gpudev lab up` from a clean state, the product's own commands against it, and `gpudev lab down`
// leaving nothing running: the CLI as a user runs it, with its own cache folder and port. The home is the
// real one (OpenSSH reads the passwd entry's ~/.ssh, not $HOME's), left exactly as it was found.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { running, type LabState } from '../../src/lab/labState';
import { repoRoot } from '../unit/fixtures';

const cli = path.join(repoRoot, 'out/src/cli.js');
const isRoot = process.getuid?.() === 0;

describe('gpudev lab', function () {
  this.timeout(240_000);
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-lab-cache-'));
  const env = { ...process.env, GPUDEV_CACHE: cache, GPUDEV_LAB_PORT: '2391' };
  const sshFiles = ['config', 'gpudev/config', 'gpudev/known_hosts'].map((f) => path.join(os.homedir(), '.ssh', f));
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);
  const found = sshFiles.map(read);
  const gpudev = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  let state: LabState;

  before(() => {
    if (found[1]?.includes('# gpudev:begin lab\n'))
      throw new Error('a lab is up on this machine: gpudev lab down first');
  });
  after(() => {
    gpudev('lab', 'down');
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('comes up with the SSH host lab (and, as root, Docker and lab-slurm)', () => {
    const up = gpudev('lab', 'up', '--json');
    assert.equal(up.status, 0, up.stderr);
    state = JSON.parse(up.stdout) as LabState;
    assert.ok(state.sshd && running(state.sshd.pid));
    if (isRoot) {
      assert.ok(state.docker && running(state.docker.pid), up.stderr);
      assert.ok(state.slurm, up.stderr);
    } else assert.match(state.missing.join('\n'), /Docker Engine: needs root .*docker\.io/);
    const status = gpudev('lab', 'status');
    assert.equal(status.status, 0, status.stdout);
    assert.match(status.stdout, /SSH host lab\s+running/);
  });

  it('answers gpudev gpus --host lab with the eight simulated H100s, through the pinned host key', () => {
    const gpus = gpudev('gpus', '--host', 'lab');
    assert.equal(gpus.status, 0, gpus.stderr);
    assert.equal(gpus.stdout.trim().split('\n').length, 8);
    assert.match(gpus.stdout, /^0 {2}NVIDIA H100 80GB HBM3 {2}26\.3\/79\.6 GiB/);
    const ssh = spawnSync('ssh', ['-o', 'BatchMode=yes', 'lab', 'nvidia-smi', '-L'], { env, encoding: 'utf8' });
    assert.equal(ssh.status, 0, ssh.stderr);
  });

  it('plans a reservation on lab-slurm', function () {
    if (!isRoot) this.skip();
    const plan = gpudev('reserve', 'plan', '--login', 'lab-slurm', '--gpu', 'h100', '--time', '1h', '--json');
    assert.equal(plan.status, 0, plan.stderr);
    assert.ok((JSON.parse(plan.stdout) as unknown[]).length >= 1, plan.stdout);
  });

  it('goes down leaving nothing it started running, and nothing in ~/.ssh', () => {
    const down = gpudev('lab', 'down');
    assert.equal(down.status, 0, down.stderr);
    assert.ok(!running(state.sshd!.pid));
    if (state.docker) assert.ok(!running(state.docker.pid));
    assert.ok(!fs.existsSync(path.join(cache, 'lab')));
    assert.equal(read(sshFiles[0]!), found[0], '~/.ssh/config as it was');
    for (const [i, file] of sshFiles.entries()) if (i > 0) assert.equal(read(file) ?? '', found[i] ?? '', file);
    assert.match(gpudev('lab', 'status').stdout, /no lab is up/);
  });
});
