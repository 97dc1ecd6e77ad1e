/** Whether a private key file needs a passphrase: OpenSSH's format names its cipher, old PEM says ENCRYPTED. */
export function isEncryptedKey(key: Buffer): boolean {
  const text = key.toString('utf8');
  if (/Proc-Type:\s*4,ENCRYPTED/.test(text) || /BEGIN ENCRYPTED PRIVATE KEY/.test(text)) return true;
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return false;
  const raw = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (raw.toString('latin1', 0, magic.length) !== magic || raw.length < magic.length + 4) return false;
  const length = raw.readUInt32BE(magic.length);
  return raw.toString('latin1', magic.length + 4, magic.length + 4 + length) !== 'none';
}
