import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isEncryptedKey } from '../../src/hosts/privateKey';

describe('isEncryptedKey on keys made by ssh-keygen', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-keys-'));
  const key = (name: string, passphrase: string, ...extra: string[]) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', path.join(dir, name), ...extra]);
    return fs.readFileSync(path.join(dir, name));
  };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('plain and passphrase-protected OpenSSH keys', () => {
    assert.equal(isEncryptedKey(key('plain', '')), false);
    assert.equal(isEncryptedKey(key('locked', 'correct horse')), true);
  });

  it('PEM keys and garbage', () => {
    assert.equal(isEncryptedKey(Buffer.from('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n...')), true);
    assert.equal(isEncryptedKey(Buffer.from('-----BEGIN RSA PRIVATE KEY-----\nMIIE...')), false);
    assert.equal(isEncryptedKey(Buffer.from('not a key')), false);
  });
});
