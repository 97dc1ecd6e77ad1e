import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError } from '../../src/core/errors';
import { reachHost } from '../../src/hosts/hostListEdits';
import { LocalRunner } from '../../src/hosts/runner';
import { startSshd, type Sshd } from './sshd';

describe('Add SSH Host tries a host before saving it (real sshd)', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  let tmp: string;
  const local = new LocalRunner();
  before(() => {
    sshd = startSshd();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-reach-'));
    fs.writeFileSync(path.join(tmp, 'config'), `Host *\n  IdentityFile ${sshd.dir}/client_key\n`);
    fs.writeFileSync(path.join(tmp, 'trusted'), `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
    fs.writeFileSync(path.join(tmp, 'empty'), '');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const reach = (ssh: string, knownHosts = 'trusted', configFile = path.join(tmp, 'config')) =>
    reachHost({ name: ssh, ssh }, local, { configFile, knownHostsFiles: [path.join(tmp, knownHosts)] });

  it('reaches the loopback sshd, with its key trusted or only unknown (the GPUs view asks to trust it)', async () => {
    assert.equal(await reach(`${sshd.user}@127.0.0.1:${sshd.port}`), undefined);
    assert.equal(await reach(`${sshd.user}@127.0.0.1:${sshd.port}`, 'empty'), undefined);
  });

  it('says why a typo, a closed port or a refused login cannot be saved as is', async () => {
    const typo = await reach(`${sshd.user}@127.0.0.l:${sshd.port}`);
    assert.match(describeError(typo!), /ENOTFOUND|EAI_AGAIN/);
    const closed = await reach(`${sshd.user}@127.0.0.1:1`);
    assert.match(describeError(closed!), /ECONNREFUSED|refused/i);
    const refused = await reach(`nobody-${process.pid}@127.0.0.1:${sshd.port}`);
    assert.match(describeError(refused!), /authentication/i);
    for (const problem of [typo, closed, refused]) console.log(`      ${describeError(problem!)}`);
  });
});
