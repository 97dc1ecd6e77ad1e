import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import type { GpuDevError } from '../core/errors';
import { fingerprint, keyTypeOf, knownHostsName, verifyHostKey, type HostKeyVerdict } from './knownHosts';
import type { HeldProgram, OutputStream, RunOptions, RunResult, Runner, StreamHandlers } from './runner';
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
  /** The jump host this one is reached through (ProxyJump); it may have its own. */
  readonly via?: SshHost;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const KEEPALIVE_MS = 15_000;

/** A host key nobody has trusted yet: what to show the user, and the known_hosts line that trusts it. */
export interface UntrustedHostKey {
  readonly description: string;
  readonly knownHostsLine: string;
}

function hostKeyError(verdict: HostKeyVerdict, host: SshHost, blob: Buffer): GpuDevError {
  const key = `${keyTypeOf(blob)} ${fingerprint(blob)}`;
  const name = knownHostsName(host.host, host.port);
  if (verdict === 'unknown')
    return {
      message: `Unknown host key for ${name}: ${key}`,
      hint: 'compare the fingerprint with the host, then trust it',
    };
  return {
    message: `The host key of ${name} ${verdict === 'revoked' ? 'is revoked' : 'has changed'} (${key}); refusing to connect`,
    hint: 'someone may be intercepting the connection; if the host was reinstalled, remove its old key from known_hosts',
  };
}

/** A connection that failed before the host itself was reached: the jump host's own failure, as is. */
class JumpFailure extends Error {
  constructor(readonly result: RunResult) {
    super(result.failure?.message ?? 'the jump host failed');
  }
}

const failed = (failure: GpuDevError, extra: Partial<RunResult> = {}): RunResult => ({
  exitCode: null,
  stdout: '',
  stderr: '',
  failure,
  ...extra,
});
const isResult = (value: object): value is RunResult => 'exitCode' in value;

/**
 * Runs commands on an SSH host over one ssh2 connection, each as its own channel. Host keys are
 * verified against known_hosts on every hop; an unknown or changed key is refused with its
 * fingerprint. The connection is opened on first use and again after it drops. Through ProxyJump,
 * the connection rides a channel forwarded by the jump host's own runner.
 */
export class SshRunner implements Runner {
  private connection: Promise<Client> | undefined;
  private refusal: GpuDevError | undefined;
  private untrusted: UntrustedHostKey | undefined;
  /** Which connection is current: a replaced client's late 'close' must not reset its successor. */
  private generation = 0;
  private readonly jump: SshRunner | undefined;

  constructor(private readonly host: SshHost) {
    this.jump = host.via && new SshRunner(host.via);
  }

  get label(): string {
    return this.host.label;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const channel = await this.openChannel(argv);
    if (isResult(channel)) return channel;
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => {
        channel.close();
        resolve({ exitCode: null, stdout, stderr, timedOut: true });
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      channel.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      channel.on('close', (code: number | null) => {
        clearTimeout(timer);
        resolve(exitResult(code, stdout, stderr));
      });
      channel.end(options.stdin);
    });
  }

  stream(argv: readonly string[], handlers: StreamHandlers): OutputStream {
    let stopped = false;
    let channel: ClientChannel | undefined;
    this.openStreaming(argv, handlers, (opened) => {
      channel = opened;
      if (stopped) opened.close();
    });
    return {
      stop: () => {
        stopped = true;
        channel?.close();
      },
    };
  }

  hold(argv: readonly string[], handlers: StreamHandlers): HeldProgram {
    const pending: Array<string | Uint8Array> = [];
    let closed = false;
    let channel: ClientChannel | undefined;
    this.openStreaming(argv, handlers, (opened) => {
      channel = opened;
      pending.splice(0).forEach((text) => opened.write(text));
      if (closed) opened.end();
    });
    return {
      write: (text) => (channel ? void channel.write(text) : void pending.push(text)),
      close: () => {
        closed = true;
        channel?.end();
      },
    };
  }

  /** A channel running argv whose output goes to `handlers` as it comes; `onOpen` once it runs. */
  private openStreaming(
    argv: readonly string[],
    handlers: StreamHandlers,
    onOpen: (channel: ClientChannel) => void,
  ): void {
    void this.openChannel(argv).then((opened) => {
      if (isResult(opened)) return handlers.onEnd(opened);
      let stderr = '';
      // A character split between two chunks is decoded whole.
      const stdoutText = new StringDecoder('utf8');
      const stderrText = new StringDecoder('utf8');
      opened.on('data', (chunk: Buffer) => handlers.onData(stdoutText.write(chunk)));
      opened.stderr.on('data', (chunk: Buffer) => {
        const text = stderrText.write(chunk);
        handlers.onStderr?.(text);
        if (stderr.length < 64 * 1024) stderr += text;
      });
      opened.on('close', (code: number | null) => handlers.onEnd(exitResult(code, '', stderr)));
      onOpen(opened);
    });
  }

  /** A channel running argv with its bytes as they are (rsync's protocol): the caller writes, reads and ends it. */
  exec(argv: readonly string[]): Promise<ClientChannel | RunResult> {
    return this.openChannel(argv);
  }

  /** A TCP stream to host:port opened from this host: the next hop of a ProxyJump chain. */
  forwardTo(host: string, port: number): Promise<Duplex | RunResult> {
    return this.forward(`${host}:${port}`, (client, done) => client.forwardOut('127.0.0.1', 0, host, port, done));
  }

  /** A stream to a unix socket on this host (OpenSSH's streamlocal forwarding): a remote Docker Engine. */
  forwardToSocket(socketPath: string): Promise<Duplex | RunResult> {
    return this.forward(socketPath, (client, done) => client.openssh_forwardOutStreamLocal(socketPath, done));
  }

  private async forward(
    what: string,
    open: (client: Client, done: (error: Error | undefined, stream: ClientChannel) => void) => void,
  ): Promise<Duplex | RunResult> {
    const client = await this.connected();
    if (isResult(client)) return client;
    return new Promise((resolve) => {
      try {
        open(client, (error, stream) =>
          resolve(
            error ? failed({ message: `${this.label} cannot open a connection to ${what}: ${error.message}` }) : stream,
          ),
        );
      } catch (error) {
        resolve(failed({ message: `Lost the connection to ${this.label}: ${(error as Error).message}` }));
      }
    });
  }

  close(): void {
    void this.connection?.then(
      (client) => client.end(),
      () => undefined,
    );
    this.connection = undefined;
    this.jump?.close();
  }

  /** A channel running argv; when the connection turns out to be dead, connects again, once. */
  private async openChannel(argv: readonly string[]): Promise<ClientChannel | RunResult> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connected();
      if (isResult(client)) return client;
      const channel = await new Promise<ClientChannel | undefined>((resolve) => {
        try {
          client.exec(quoteArgv(argv), { env: { ...this.host.env } }, (error, opened) =>
            resolve(error ? undefined : opened),
          );
        } catch {
          resolve(undefined); // ssh2 throws when the socket is already gone
        }
      });
      if (channel) return channel;
      // The connection died under us (the host went down, a network drop).
      this.connection = undefined;
      client.end();
      if (attempt > 0) return failed({ message: `Lost the connection to ${this.host.label}` });
    }
  }

  private async connected(): Promise<Client | RunResult> {
    try {
      return await (this.connection ??= this.connect());
    } catch (error) {
      this.connection = undefined;
      return this.connectFailure(error as Error);
    }
  }

  private connectFailure(error: Error): RunResult {
    if (error instanceof JumpFailure) return error.result;
    if (this.host.privateKey && /privateKey|passphrase/i.test(error.message)) {
      // ssh2 could not decrypt the key: asking again is the only way forward.
      return failed(
        { message: `${this.host.label}: the passphrase does not open the private key`, code: 'bad-passphrase' },
        { retryable: false },
      );
    }
    const failure = this.refusal ?? {
      message: `Cannot reach ${this.host.label}: ${error.message}`,
      hint: 'check the host name, port and your key',
    };
    const untrustedHostKey = this.untrusted;
    const refused = this.refusal !== undefined;
    this.refusal = undefined;
    this.untrusted = undefined;
    return failed(failure, {
      ...(refused && { retryable: false as const }),
      ...(untrustedHostKey && { untrustedHostKey }),
    });
  }

  private async connect(): Promise<Client> {
    const knownHosts = await this.host.knownHosts();
    let sock: Duplex | undefined;
    if (this.jump) {
      const forwarded = await this.jump.forwardTo(this.host.host, this.host.port);
      if (isResult(forwarded)) throw new JumpFailure(forwarded);
      sock = forwarded;
    }
    // Required on first use, not imported at the top: ssh2 is heavy and most sessions never need it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client: SshClient } = require('ssh2') as { Client: typeof Client };
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
        sock,
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
}

function exitResult(code: number | null, stdout: string, stderr: string): RunResult {
  const notFound = code === 127 && /not found/i.test(stderr);
  return { exitCode: typeof code === 'number' ? code : null, stdout, stderr, ...(notFound && { notFound }) };
}
