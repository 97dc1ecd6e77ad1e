import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { fingerprint, keyTypeOf, verifyHostKey } from '../../src/hosts/knownHosts';
import { quoteArgv } from '../../src/hosts/shellQuote';

function blob(type: string, body: string): Buffer {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, Buffer.from(body)]);
}
const key = blob('ssh-ed25519', 'key-one');
const other = blob('ssh-ed25519', 'key-two');
const line = (hosts: string, k: Buffer, marker = '') => `${marker}${hosts} ${keyTypeOf(k)} ${k.toString('base64')}`;
function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('matches plain names, [host]:port, patterns and hashed entries', () => {
    assert.equal(verifyHostKey([line('gpu-box,10.0.0.5', key)], 'gpu-box', 22, key), 'trusted');
    assert.equal(verifyHostKey([line('[gpu-box]:2222', key)], 'gpu-box', 2222, key), 'trusted');
    assert.equal(verifyHostKey([line('[gpu-box]:2222', key)], 'gpu-box', 22, key), 'unknown');
    assert.equal(
      verifyHostKey([line('*.cluster.example,!bad.cluster.example', key)], 'node1.cluster.example', 22, key),
      'trusted',
    );
    assert.equal(
      verifyHostKey([line('*.cluster.example,!bad.cluster.example', key)], 'bad.cluster.example', 22, key),
      'unknown',
    );
    assert.equal(verifyHostKey([line(hashed('[gpu-box]:2222'), key)], 'gpu-box', 2222, key), 'trusted');
  });

  it('a different key of the same type is a change; revoked keys are refused', () => {
    assert.equal(verifyHostKey([line('gpu-box', other)], 'gpu-box', 22, key), 'changed');
    assert.equal(verifyHostKey([line('gpu-box', blob('ecdsa-sha2-nistp256', 'x'))], 'gpu-box', 22, key), 'unknown');
    assert.equal(
      verifyHostKey([line('gpu-box', key), line('gpu-box', key, '@revoked ')], 'gpu-box', 22, key),
      'revoked',
    );
  });

  it('skips comments, blank and malformed lines', () => {
    assert.equal(
      verifyHostKey(['# comment\n\nonly-two fields\n' + line('gpu-box', key)], 'gpu-box', 22, key),
      'trusted',
    );
  });

  it('fingerprints like ssh-keygen -l', () => {
    assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('quoteArgv', () => {
  it('quotes what a shell would interpret and leaves plain words', () => {
    assert.equal(
      quoteArgv(['nvidia-smi', '--query-gpu=index,name', '--format=csv,noheader']),
      'nvidia-smi --query-gpu=index,name --format=csv,noheader',
    );
    assert.equal(quoteArgv(['echo', "it's", '$(id)', '', 'a b']), `echo 'it'\\''s' '$(id)' '' 'a b'`);
  });
});
