import * as vscode from 'vscode';
import { readTestHostProfile, type TestHostProfile } from '../cosplay/hostProfile';
import type { Session } from '../cosplay/session';
import { listSessions, sameGpu } from '../cosplay/sessions';
import { connectDocker, DockerFailure, localDockerSocket, sshDockerTarget, type DockerEngine } from '../hosts/docker';
import type { GpuSample } from '../hosts/gpu';
import { LOCAL_HOST, type Runner } from '../hosts/runner';
import type { SshRunner } from '../hosts/sshRunner';
import { machineSetting } from './settings';

/** What cosplay needs of a host: its runner, its Docker Engine, whether host changes need sudo. */
export interface CosplayHost {
  readonly name: string;
  readonly runner: Runner;
  readonly docker: DockerEngine;
  readonly sudo: boolean;
  /** Set only by GPUDEV_TEST_HOST_PROFILE, for machines without an NVIDIA runtime (the project's tests). */
  readonly testProfile?: TestHostProfile;
}

export interface CosplayHostSource {
  readonly local: Runner;
  remoteRunner(name: string): SshRunner | undefined;
  remoteEntry(name: string): { sudo?: boolean; dockerSocket?: string } | undefined;
  hostNames(): string[];
}

/** Every host's cosplay sessions, as Docker lists them (labels are their only record). */
export class CosplaySessions implements vscode.Disposable {
  private readonly byHost = new Map<string, readonly Session[]>();
  private readonly engines = new Map<string, { runner: Runner; socket: string; docker: DockerEngine }>();
  private readonly listed = new Set<string>();
  /** The last verify of each session in this window: "✓ 23/24". */
  private readonly verified = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private profile: Promise<TestHostProfile | undefined> | undefined;

  constructor(private readonly source: CosplayHostSource, private readonly log: vscode.LogOutputChannel) {}

  dispose(): void {
    this.changed.dispose();
  }

  /** The host's runner and engine, or a sentence saying why there is none yet. */
  async host(name: string): Promise<CosplayHost | string> {
    const testProfile = await (this.profile ??= readTestHostProfile());
    if (name === LOCAL_HOST) {
      const sudo = machineSetting<boolean>('cosplay.sudo') ?? false;
      const socketPath = localDockerSocket();
      return { name, runner: this.source.local, docker: this.engine(name, this.source.local, socketPath, () => ({ kind: 'local', label: LOCAL_HOST, socketPath })), sudo, testProfile };
    }
    const runner = this.source.remoteRunner(name);
    const entry = this.source.remoteEntry(name);
    if (!runner || !entry) return `${name} has not connected yet`;
    const socket = entry.dockerSocket ?? '/var/run/docker.sock';
    return { name, runner, docker: this.engine(name, runner, socket, () => sshDockerTarget(runner, socket)), sudo: entry.sudo ?? false, testProfile };
  }

  /** One engine per host, made again when the host's connection or socket changes (settings edited). */
  private engine(name: string, runner: Runner, socket: string, target: () => Parameters<typeof connectDocker>[0]): DockerEngine {
    const known = this.engines.get(name);
    if (known?.runner === runner && known.socket === socket) return known.docker;
    const docker = connectDocker(target());
    this.engines.set(name, { runner, socket, docker });
    return docker;
  }

  /** A host's first sample lists its sessions (SSH hosts connect after the views are drawn). */
  noteSample(host: string): void {
    if (this.listed.has(host)) return;
    this.listed.add(host);
    void this.refresh(host);
  }

  /** Sessions on one GPU of a host (by UUID, else index). */
  on(host: string, gpu: GpuSample): readonly Session[] {
    return (this.byHost.get(host) ?? []).filter((s) => sameGpu(s, gpu.index, gpu.uuid));
  }

  hostNames(): string[] {
    return this.source.hostNames();
  }

  all(): Array<{ host: string; session: Session }> {
    return [...this.byHost].flatMap(([host, sessions]) => sessions.map((session) => ({ host, session })));
  }

  /** Asks which running session, when there are several; its name. */
  async pick(): Promise<string | undefined> {
    const running = this.all().filter((s) => s.session.running);
    if (running.length <= 1) return running[0]?.session.name;
    const picked = await vscode.window.showQuickPick(
      running.map((s) => ({ label: s.session.name, description: `${s.session.plan.targetName} on ${s.host}, GPU ${s.session.gpuIndex}` })),
      { placeHolder: 'Which cosplay session?' },
    );
    return picked?.label;
  }

  find(name: string): { host: string; session: Session } | undefined {
    return this.all().find((s) => s.session.name === name);
  }

  verifySummary(session: string): string | undefined {
    return this.verified.get(session);
  }

  setVerifySummary(session: string, summary: string): void {
    this.verified.set(session, summary);
    this.changed.fire();
  }

  /** Lists again (one host, or all). A host without Docker simply has no sessions: that is logged, never shown. */
  async refresh(only?: string): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    const names = only ? [only] : this.source.hostNames();
    await Promise.all(names.map(async (name) => {
      const host = await this.host(name);
      if (typeof host === 'string') return;
      try {
        const { sessions, problems } = await listSessions(host.docker);
        problems.forEach((p) => this.log.warn(`${name}: ${p}`));
        this.byHost.set(name, sessions);
      } catch (error) {
        if (!(error instanceof DockerFailure)) throw error;
        this.log.debug(`${name}: no cosplay sessions listed: ${error.failure.message}`);
        this.byHost.delete(name);
      }
    }));
    for (const name of [...this.byHost.keys()]) if (!this.source.hostNames().includes(name)) this.byHost.delete(name);
    this.changed.fire();
  }
}
