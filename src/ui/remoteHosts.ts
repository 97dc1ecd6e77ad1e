import * as vscode from 'vscode';
import type { GpuDevError } from '../core/errors';
import { probeGpus, type GpusResult, type ProbeResult } from '../hosts/gpuProbe';
import { streamGpus } from '../hosts/gpuStream';
import type { Runner } from '../hosts/runner';
import {
  createSshRunner,
  gpudevKnownHostsFile,
  parseHostEntries,
  trustHostKey,
  type HostEntry,
} from '../hosts/sshHosts';
import type { SshRunner } from '../hosts/sshRunner';
import { GpuMonitor } from '../monitor/gpuMonitor';
import { machineSetting } from './settings';

interface RemoteHost {
  readonly entry: HostEntry;
  readonly monitor: GpuMonitor;
  runner?: SshRunner;
}

/** The SSH hosts of `gpuDev.hosts`, one monitor each. Nothing is contacted in an untrusted workspace. */
export class RemoteHosts implements vscode.Disposable {
  private hosts: RemoteHost[] = [];
  private prompted = new Set<string>();
  /** Passphrases given this session, by key file: in memory only, never logged or written. */
  private readonly passphrases = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  notices: GpuDevError[] = [];

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly local: Runner,
    private readonly intervalMs: () => number,
    /** Whether processes are shown (the GPUs view is visible). */
    private readonly wantsProcesses: () => boolean,
  ) {}

  list(): Array<{ name: string; monitor: GpuMonitor }> {
    return this.hosts.map((host) => ({ name: host.entry.name, monitor: host.monitor }));
  }

  /** The runner of a host that has connected at least once. */
  runnerOf(name: string): SshRunner | undefined {
    return this.hosts.find((h) => h.entry.name === name)?.runner;
  }

  entryOf(name: string): HostEntry | undefined {
    return this.hosts.find((h) => h.entry.name === name)?.entry;
  }

  /** Rebuilds the hosts from the setting; their monitors start unwatched (listeners of onDidChange set them going). */
  reload(): void {
    this.disposeHosts();
    const { hosts, problems } = parseHostEntries(machineSetting('hosts'));
    this.notices = problems.map((message) => ({ message }));
    if (hosts.length && !vscode.workspace.isTrusted) {
      this.notices.push({
        message: 'SSH hosts are not contacted in an untrusted workspace',
        hint: 'trust this folder to monitor them',
      });
    } else {
      this.hosts = hosts.map((entry) => {
        const monitor = new GpuMonitor((fresh) => this.probe(host, fresh), this.intervalMs(), this.log, {
          startStream: (intervalMs, expected, handlers) =>
            host.runner && streamGpus(host.runner, intervalMs, expected, handlers),
          wantsProcesses: this.wantsProcesses,
        });
        const host: RemoteHost = { entry, monitor };
        return host;
      });
    }
    problems.forEach((problem) => this.log.warn(problem));
    this.changed.fire();
  }

  /** Shows an unknown host key's fingerprint; "Trust" records it in our own known_hosts and connects. */
  async reviewHostKey(name: string, key = this.untrustedKeyOf(name)): Promise<void> {
    const host = this.hosts.find((h) => h.entry.name === name);
    if (!host || !key) return;
    if (await askToTrustHostKey(`"${name}"`, key, this.log)) await host.monitor.refresh();
  }

  private untrustedKeyOf(name: string) {
    const snapshot = this.hosts.find((h) => h.entry.name === name)?.monitor.snapshot;
    return snapshot?.kind === 'error' ? snapshot.untrustedHostKey : undefined;
  }

  dispose(): void {
    this.disposeHosts();
    this.changed.dispose();
  }

  private async probe(host: RemoteHost, fresh?: GpusResult): Promise<ProbeResult> {
    const name = host.entry.name;
    if (!host.runner) {
      const created = await createSshRunner(host.entry, this.local, {
        askPassphrase: (keyFile) => this.passphraseFor(name, keyFile),
      });
      if ('message' in created) return { kind: 'error', host: name, error: created, at: Date.now(), retry: false };
      host.runner = created;
    }
    const result = await probeGpus(host.runner, { processes: this.wantsProcesses(), fresh });
    if (result.kind === 'error' && result.error.code === 'bad-passphrase') {
      this.passphrases.clear(); // which key it was is the runner's business: ask again for all
      host.runner.close();
      host.runner = undefined;
    }
    if (result.kind === 'error' && result.untrustedHostKey && !this.prompted.has(name)) {
      this.prompted.add(name);
      void this.reviewHostKey(name, result.untrustedHostKey);
    }
    return result;
  }

  private async passphraseFor(host: string, keyFile: string): Promise<string | undefined> {
    const known = this.passphrases.get(keyFile);
    if (known !== undefined) return known;
    const given = await vscode.window.showInputBox({
      title: `SSH key passphrase for ${host}`,
      prompt: `Passphrase of ${keyFile} (asked once per session)`,
      password: true,
      ignoreFocusOut: true,
    });
    if (given !== undefined) this.passphrases.set(keyFile, given);
    return given;
  }

  private disposeHosts(): void {
    for (const host of this.hosts) {
      host.monitor.dispose();
      host.runner?.close();
    }
    this.hosts = [];
  }
}

/** Shows an unknown host key's fingerprint (a modal); "Trust" records it in our own known_hosts. Whether it was trusted. */
export async function askToTrustHostKey(
  what: string,
  key: { description: string; knownHostsLine: string },
  log: vscode.LogOutputChannel,
): Promise<boolean> {
  const choice = await vscode.window.showWarningMessage(
    `Unknown SSH host key for ${what}`,
    {
      modal: true,
      detail: `${key.description}\n\nCompare this fingerprint with the one the host's administrator gives you. Trusting adds it to ${gpudevKnownHostsFile()}.`,
    },
    'Trust',
  );
  if (choice !== 'Trust') return false;
  await trustHostKey(key.knownHostsLine);
  log.info(`trusted the host key of ${what}: ${key.description}`);
  return true;
}
