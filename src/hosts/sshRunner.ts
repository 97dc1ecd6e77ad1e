import type { Client, ClientChannel } from 'ssh2';
import type { GpuDevError } from '../core/errors';
import { fingerprint, keyTypeOf, knownHostsName, verifyHostKey, type HostKeyVerdict } from './knownHosts';
import type { RunOptions, RunResult, Runner } from './runner';
import { quoteArgv } from './shellQuote';

export interface SshHost {
  /** What the user calls the host (an ssh alias, user@host). */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey?: Buffer;
  readonly passphrase?: string;
  /** An ssh-agent socket, tried before the key. */
  readonly agent?: string;
  /** Contents of the known_hosts files to trust (the user's, then our own), read before each connection. */
  readonly knownHosts: () => Promise<readonly string[]>;
  /** Variables sent with each command (the server must AcceptEnv them). */
  readonly env?: Readonly<Record<string, string>>;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const CHANNEL_FAILED = Symbol('channel failed');
const KEEPALIVE_MS = 15_000;

/** A host key nobody has trusted yet: what to show the user, and the known_hosts line that trusts it. */
export interface UntrustedHostKey {
  readonly description: string;
  readonly knownHostsLine: string;
}

function hostKeyError(verdict: HostKeyVerdict, host: SshHost, blob: Buffer): GpuDevError {
  const key = `${keyTypeOf(blob)} ${fingerprint(blob)}`;
  const name = knownHostsName(host.host, host.port);
  if (verdict === 'unknown') return { message: `Unknown host key for ${name}: ${key}`, hint: 'compare the fingerprint with the host, then trust it' };
  return {
    message: `The host key of ${name} ${verdict === 'revoked' ? 'is revoked' : 'has changed'} (${key}); refusing to connect`,
    hint: 'someone may be intercepting the connection; if the host was reinstalled, remove its old key from known_hosts',
  };
}

/**
 * Runs commands on an SSH host over one ssh2 connection, each as its own channel. Host keys are
 * verified against known_hosts; an unknown or changed key is refused with its fingerprint. The
 * connection is opened on first use and again after it drops.
 */
export class SshRunner implements Runner {
  private connection: Promise<Client> | undefined;
  private refusal: GpuDevError | undefined;
  private untrusted: UntrustedHostKey | undefined;
  /** Which connection is current: a replaced client's late 'close' must not reset its successor. */
  private generation = 0;

  constructor(private readonly host: SshHost) {}

  get label(): string {
    return this.host.label;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    for (let attempt = 0; ; attempt++) {
      let client: Client;
      try {
        client = await (this.connection ??= this.connect());
      } catch (error) {
        this.connection = undefined;
        return this.connectFailure(error as Error);
      }
      const result = await this.exec(client, argv, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      if (result !== CHANNEL_FAILED) return result;
      // The connection died under us (the host went down, a network drop): connect again, once.
      this.connection = undefined;
      client.end();
      if (attempt > 0) return { exitCode: null, stdout: '', stderr: '', failure: { message: `Lost the connection to ${this.host.label}` } };
    }
  }

  private connectFailure(error: Error): RunResult {
    if (this.host.privateKey && /privateKey|passphrase/i.test(error.message)) {
      // ssh2 could not decrypt the key: asking again is the only way forward.
      return { exitCode: null, stdout: '', stderr: '', retryable: false, failure: { message: `${this.host.label}: the passphrase does not open the private key`, code: 'bad-passphrase' } };
    }
    const failure = this.refusal ?? { message: `Cannot reach ${this.host.label}: ${error.message}`, hint: 'check the host name, port and your key' };
    const untrustedHostKey = this.untrusted;
    const refused = this.refusal !== undefined;
    this.refusal = undefined;
    this.untrusted = undefined;
    return { exitCode: null, stdout: '', stderr: '', failure, ...(refused && { retryable: false as const }), ...(untrustedHostKey && { untrustedHostKey }) };
  }

  close(): void {
    void this.connection?.then((client) => client.end(), () => undefined);
    this.connection = undefined;
  }

  private async connect(): Promise<Client> {
    const knownHosts = await this.host.knownHosts();
    // Required on first use, not imported at the top: ssh2 is heavy and most sessions never need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client: SshClient } = require('ssh2') as typeof import('ssh2');
    const client = new SshClient();
    const generation = ++this.generation;
    return new Promise((resolve, reject) => {
      client.once('ready', () => resolve(client));
      client.once('error', reject);
      client.on('close', () => {
        if (generation === this.generation) this.connection = undefined;
      });
      client.connect({
        host: this.host.host,
        port: this.host.port,
        username: this.host.username,
        privateKey: this.host.privateKey,
        passphrase: this.host.passphrase,
        agent: this.host.agent,
        keepaliveInterval: KEEPALIVE_MS,
        readyTimeout: DEFAULT_TIMEOUT_MS,
        hostVerifier: (blob: Buffer) => {
          const verdict = verifyHostKey(knownHosts, this.host.host, this.host.port, blob);
          if (verdict !== 'trusted') this.refusal = hostKeyError(verdict, this.host, blob);
          if (verdict === 'unknown') {
            this.untrusted = {
              description: `${knownHostsName(this.host.host, this.host.port)} (${keyTypeOf(blob)} ${fingerprint(blob)})`,
              knownHostsLine: `${knownHostsName(this.host.host, this.host.port)} ${keyTypeOf(blob)} ${blob.toString('base64')}`,
            };
          }
          return verdict === 'trusted';
        },
      });
    });
  }

  private exec(client: Client, argv: readonly string[], timeoutMs: number): Promise<RunResult | typeof CHANNEL_FAILED> {
    return new Promise((resolve) => {
      const send = (): void => { client.exec(quoteArgv(argv), { env: { ...this.host.env } }, onChannel); };
      const onChannel = (error: Error | undefined, channel: ClientChannel): void => {
        if (error) return resolve(CHANNEL_FAILED);
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => {
          channel.close();
          resolve({ exitCode: null, stdout, stderr, timedOut: true });
        }, timeoutMs);
        channel.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
        channel.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
        channel.on('close', (code: number | null) => {
          clearTimeout(timer);
          const notFound = code === 127 && /not found/i.test(stderr);
          resolve({ exitCode: typeof code === 'number' ? code : null, stdout, stderr, ...(notFound && { notFound }) });
        });
      };
      try {
        send();
      } catch {
        resolve(CHANNEL_FAILED); // ssh2 throws when the socket is already gone
      }
    });
  }
}
