// How dockerode reaches an engine: the local unix socket, or an SSH host's socket through that host's
// one ssh2 connection.
//
// Why every engine is addressed by `socketPath`, even the one on an SSH host:
// inside VS Code's extension host, Node's `http.request` is patched by @vscode/proxy-agent
// (microsoft/vscode-proxy-agent, src/index.ts, `createHttpPatch`). For a request naming a host, with
// the default `"http.proxySupport": "override"`, the patch swaps the request's agent for its own
// PacProxyAgent and keeps the caller's agent only when the host is localhost/127.0.0.1; when the
// proxy resolves to DIRECT that PacProxyAgent (src/agent.ts) connects with `http.globalAgent`. Our
// forwarding agent was dropped, and a plain TCP connection to the placeholder host "docker" failed
// with `getaddrinfo ENOTFOUND docker`. The patch's first check, though, hands any request carrying
// `options.socketPath` to the original `http.request` untouched, whatever the setting (unix sockets
// are never proxied; the local engine has relied on that all along). So the SSH engine gets a
// socketPath too, and the original `http.request` then asks our agent for the connection, which
// forwards it over SSH.
//
// The socketPath given for an SSH host is a path that cannot exist on this machine: if anything ever
// bypassed our agent, the request would fail with ENOENT rather than reach a local Docker Engine.
// (A local unix-socket relay to the forwarded stream would rely on the very same check, and would add
// a listening socket, a temp folder to clean up, and leftovers when the process is killed.)
//
// Connections are never kept alive: a restarted engine would leave a pooled socket that fails with EPIPE.
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { DockerTarget } from './docker';

/** The socketPath dockerode is given for an engine reached over SSH: never a real file here. */
export const FORWARDED_SOCKET_PLACEHOLDER = '/nonexistent/gpudev/docker-over-ssh.sock';

type Callback = (error: Error | null, socket?: Duplex) => void;

/**
 * An agent whose every connection is a new stream from `connect` (the SSH forward), never pooled.
 * Each stream ends its side once the engine has ended its own, as a net.Socket does (allowHalfOpen
 * false) and ssh2's channels do not: http never destroys a hijacked stream (exec), whose SSH channel
 * would otherwise stay open after the command ended.
 */
export function forwardingAgent(connect: () => Promise<Duplex>): http.Agent {
  const agent = new http.Agent({ keepAlive: false });
  const createConnection = (_options: unknown, callback: Callback): undefined => {
    connect().then(
      (stream) => {
        stream.once('end', () => stream.end());
        callback(null, stream);
      },
      (error: Error) => callback(error),
    );
    return undefined;
  };
  (agent as unknown as { createConnection: typeof createConnection }).createConnection = createConnection;
  return agent;
}

/** dockerode's options for a target: always a socketPath (see above), with an agent that is never kept alive. */
export function dockerOptions(target: DockerTarget): Dockerode.DockerOptions {
  if (target.kind === 'local')
    return { socketPath: target.socketPath, agent: new http.Agent({ keepAlive: false }) } as Dockerode.DockerOptions;
  const agent = forwardingAgent(() => target.connect(target.socketPath));
  return { socketPath: FORWARDED_SOCKET_PLACEHOLDER, agent } as Dockerode.DockerOptions;
}
