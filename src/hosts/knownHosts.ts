import { createHash, createHmac } from 'node:crypto';

/** What known_hosts says about a host's key: trusted, never seen, or different from the recorded one. */
export type HostKeyVerdict = 'trusted' | 'unknown' | 'changed' | 'revoked';

interface Entry {
  readonly marker: string | null;
  readonly hosts: string;
  readonly keyType: string;
  readonly keyBase64: string;
}

function parse(text: string): Entry[] {
  return text.split(/\r?\n/).flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return [];
    const marker = fields[0].startsWith('@') ? fields.shift()! : null;
    const [hosts, keyType, keyBase64] = fields;
    return hosts && keyType && keyBase64 ? [{ marker, hosts, keyType, keyBase64 }] : [];
  });
}

/** How OpenSSH names a host in known_hosts: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function glob(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(name);
}

function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const patterns = hosts.split(',');
  if (patterns.some((p) => p.startsWith('!') && glob(p.slice(1), name))) return false;
  return patterns.some((p) => !p.startsWith('!') && glob(p, name));
}

/** The key type inside an SSH public key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", …). */
export function keyTypeOf(blob: Buffer): string {
  return blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1') : '';
}

/** "SHA256:…" as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Checks a host key blob against known_hosts texts (plain, [host]:port and hashed entries, @revoked). */
export function verifyHostKey(knownHosts: readonly string[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const keyType = keyTypeOf(blob);
  const keyBase64 = blob.toString('base64');
  const entries = knownHosts
    .flatMap(parse)
    .filter((entry) => entry.marker !== '@cert-authority' && hostsMatch(entry.hosts, name));
  if (entries.some((e) => e.marker === '@revoked' && e.keyBase64 === keyBase64)) return 'revoked';
  if (entries.some((e) => !e.marker && e.keyBase64 === keyBase64)) return 'trusted';
  return entries.some((e) => !e.marker && e.keyType === keyType) ? 'changed' : 'unknown';
}
