import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { localOwner, openJournals, type HostJournal } from '../cosplay/hostJournal';
import { readTestHostProfile, type TestHostProfile } from '../cosplay/hostProfile';
import { sessionAge, sessionGpusText, type Session } from '../cosplay/session';
import { listSessions, orphansOf, sameGpu, type ForeignContainer, type SessionHost } from '../cosplay/sessions';
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
  /** How ssh reaches it (an alias or user@host[:port]); absent for this machine. */
  readonly ssh?: string;
  /** The host journals its sessions are recorded in: the user's, and root's where sudo is on. */
  journals(): Promise<readonly HostJournal[] | string>;
  /** Pauses the host's GPU monitoring (while MIG mode changes); returns resume. */
  pauseMonitor(): () => void;
  /** Set only by GPUDEV_TEST_HOST_PROFILE, for machines without an NVIDIA runtime (the project's tests). */
  readonly testProfile?: TestHostProfile;
}

export interface CosplayHostSource {
  readonly local: Runner;
  remoteRunner(name: string): SshRunner | undefined;
  remoteEntry(name: string): { ssh?: string; sudo?: boolean; dockerSocket?: string } | undefined;
  hostNames(): string[];
  pauseMonitor(name: string): () => void;
}

/** Every host's cosplay sessions, as its host journal records them, joined with their containers. */
export class CosplaySessions implements vscode.Disposable {
  private readonly byHost = new Map<string, readonly Session[]>();
  private readonly foreignByHost = new Map<string, readonly ForeignContainer[]>();
  private readonly journals = new Map<
    string,
    { runner: Runner; sudo: boolean; opened: Promise<readonly HostJournal[] | string> }
  >();
  /** Hosts whose orphans were already announced in this window. */
  private readonly announced = new Set<string>();
  private readonly engines = new Map<string, { runner: Runner; socket: string; docker: DockerEngine }>();
  private readonly listed = new Set<string>();
  /** The last verify of each session in this window: "✓ 23/24". */
  private readonly verified = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private profile: Promise<TestHostProfile | undefined> | undefined;

  constructor(
    private readonly source: CosplayHostSource,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  dispose(): void {
    this.changed.dispose();
  }

  /** The host's runner and engine, or a sentence saying why there is none yet. */
  async host(name: string): Promise<CosplayHost | string> {
    const testProfile = await (this.profile ??= readTestHostProfile());
    if (name === LOCAL_HOST) {
      const sudo = machineSetting<boolean>('cosplay.sudo') ?? false;
      const socketPath = localDockerSocket();
      const docker = this.engine(name, this.source.local, socketPath, () => ({
        kind: 'local',
        label: LOCAL_HOST,
        socketPath,
      }));
      return {
        name,
        runner: this.source.local,
        docker,
        sudo,
        journals: () => this.journalsOf(name, this.source.local, sudo),
        pauseMonitor: () => this.source.pauseMonitor(name),
        testProfile,
      };
    }
    const runner = this.source.remoteRunner(name);
    const entry = this.source.remoteEntry(name);
    if (!runner || !entry) return `${name} has not connected yet`;
    const socket = entry.dockerSocket ?? '/var/run/docker.sock';
    const sudo = entry.sudo ?? false;
    const docker = this.engine(name, runner, socket, () => sshDockerTarget(runner, socket));
    return {
      name,
      runner,
      docker,
      sudo,
      ...(entry.ssh && { ssh: entry.ssh }),
      journals: () => this.journalsOf(name, runner, sudo),
      pauseMonitor: () => this.source.pauseMonitor(name),
      testProfile,
    };
  }

  /** The host's journals, opened (folder made and checked) once per connection and sudo setting. */
  private journalsOf(name: string, runner: Runner, sudo: boolean): Promise<readonly HostJournal[] | string> {
    const known = this.journals.get(name);
    if (known?.runner === runner && known.sudo === sudo) return known.opened;
    const opened = openJournals(runner, sudo).then((j) => ('message' in j ? describeError(j) : j));
    this.journals.set(name, { runner, sudo, opened });
    void opened.then(
      (j) => typeof j === 'string' && this.journals.get(name)?.opened === opened && this.journals.delete(name),
    );
    return opened;
  }

  /** What stop, clean-up and calibrate need of a session's host: its journal of the session's kind. */
  async sessionHost(
    host: CosplayHost,
    session: Session,
    onWait?: (heldBy: string) => void,
  ): Promise<SessionHost | string> {
    const journals = await host.journals();
    if (typeof journals === 'string') return journals;
    const journal = journals.find((j) => j.kind === session.journal);
    if (!journal) return `${session.name} was applied with sudo: turn sudo on for ${host.name} to manage it`;
    return { runner: host.runner, docker: host.docker, journal, owner: localOwner(), onWait };
  }

  /** One engine per host, made again when the host's connection or socket changes (settings edited). */
  private engine(
    name: string,
    runner: Runner,
    socket: string,
    target: () => Parameters<typeof connectDocker>[0],
  ): DockerEngine {
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

  /** Labelled containers no journal of the host records: shown, never restored from. */
  foreignOn(host: string): readonly ForeignContainer[] {
    return this.foreignByHost.get(host) ?? [];
  }

  all(): Array<{ host: string; session: Session }> {
    return [...this.byHost].flatMap(([host, sessions]) => sessions.map((session) => ({ host, session })));
  }

  /** Asks which running session, when there are several; its name. */
  async pick(): Promise<string | undefined> {
    const running = this.all().filter((s) => s.session.running);
    if (running.length <= 1) return running[0]?.session.name;
    const picked = await vscode.window.showQuickPick(
      running.map((s) => ({
        label: s.session.name,
        description: `${s.session.plan.targetName} on ${s.host}, ${sessionGpusText(s.session)}`,
      })),
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

  /**
   * Lists again (one host, or all). A host without Docker simply has no sessions: that is logged,
   * never shown. Orphans found on a host are announced once per window, with Clean Up.
   */
  async refresh(only?: string): Promise<void> {
    if (!vscode.workspace.isTrusted) return;
    const names = only ? [only] : this.source.hostNames();
    await Promise.all(
      names.map(async (name) => {
        const host = await this.host(name);
        if (typeof host === 'string') return;
        const journals = await host.journals();
        if (typeof journals === 'string') return void this.log.warn(`${name}: ${journals}`);
        try {
          const listing = await listSessions(host.docker, journals);
          listing.problems.forEach((p) => this.log.warn(`${name}: ${p}`));
          listing.foreign.forEach((c) => this.log.warn(`${name}: foreign container ${c.name}: ${c.why}`));
          this.byHost.set(name, listing.sessions);
          this.foreignByHost.set(name, listing.foreign);
          this.announceOrphans(name, orphansOf(listing));
        } catch (error) {
          if (!(error instanceof DockerFailure)) throw error;
          this.log.debug(`${name}: no cosplay sessions listed: ${error.failure.message}`);
          this.byHost.delete(name);
          this.foreignByHost.delete(name);
        }
      }),
    );
    for (const name of [...this.byHost.keys()]) if (!this.source.hostNames().includes(name)) this.byHost.delete(name);
    this.changed.fire();
  }

  private announceOrphans(host: string, orphans: readonly Session[]): void {
    const stale = orphans.filter((o) => !o.unrestored);
    if (!stale.length || this.announced.has(host)) return;
    this.announced.add(host);
    const what = stale.map((o) => `${o.name} of ${o.owner}, ${sessionAge(o)} ago`).join('; ');
    void vscode.window
      .showWarningMessage(
        `${stale.length} cosplay session${stale.length > 1 ? 's' : ''} on ${host} ended without restoring the host (${what}): its GPU settings are still changed.`,
        'Clean Up Orphans',
      )
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('gpuDev.cleanUpOrphans');
      });
  }
}
