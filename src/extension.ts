import * as vscode from 'vscode';
import { probeGpus } from './hosts/gpuProbe';
import { streamGpus } from './hosts/gpuStream';
import { LocalRunner } from './hosts/runner';
import { GpuMonitor } from './monitor/gpuMonitor';
import { cosplayAs, type CosplayContext } from './ui/cosplayCommands';
import { CosplaySessions } from './ui/cosplaySessions';
import { SessionCommands, type SessionArgument } from './ui/sessionCommands';
import { VerifyTests } from './ui/verifyTests';
import { pollSeconds } from './ui/reservationChecks';
import { ReservationHosts } from './ui/reservationHosts';
import { Reservations, type ReservationNode } from './ui/reservations';
import { registerPanelSerializers } from './ui/panelSerializers';
import { ReservePanel } from './ui/reservePanel';
import { runOnReservationCommand } from './ui/runTerminal';
import { cosplayOnReservation, reservationOfGpu } from './ui/reservationCosplay';
import { workspaceReservePrefill } from './ui/workspaceDefaults';
import { attachReservation, cancelReservation, copySshCommand, reserveGpus, showJobScript } from './ui/reserveCommands';

type JobNode = Extract<ReservationNode, { kind: 'reservation' }>;
import { SampleHistory } from './monitor/history';
import { GpuDetailsPanels } from './ui/gpuDetails';
import { GpuTreeProvider, type GpuTreeNode } from './ui/gpuTree';
import { onAnySample, type HostList } from './ui/hostList';
import { addSshHost, editSshHost, removeSshHost, type HostArgument } from './ui/hostCommands';
import { RemoteHosts } from './ui/remoteHosts';
import { isWorkspaceSettingsFile, noticeWorkspaceMachineSettings, readMonitorSettings } from './ui/settings';
import { testApi, type GpuDevTestApi } from './ui/testApi';
import { VramGauge } from './ui/vramGauge';
import { WindowReservation } from './ui/windowReservation';
import { AnalyzePanel, exportSkyPilot, type AnalyzeActions } from './ui/analyzePanel';
import { analyzedWorkspace, registerGpudevYaml } from './ui/gpudevYaml';

export function activate(context: vscode.ExtensionContext): GpuDevTestApi | undefined {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('GPU Dev Environments', { log: true });
  const runner = new LocalRunner();
  let settings = readMonitorSettings();
  // Processes are only shown in the tree: the gauge alone does not pay for their query.
  const wantsProcesses = (): boolean => gpuView.visible;
  const monitor = new GpuMonitor(
    (fresh) => probeGpus(runner, { processes: wantsProcesses(), fresh }),
    settings.intervalMs,
    log,
    {
      startStream: (intervalMs, expected, handlers) => streamGpus(runner, intervalMs, expected, handlers),
      wantsProcesses,
    },
  );
  const remote: RemoteHosts = new RemoteHosts(log, runner, () => settings.intervalMs, wantsProcesses);
  const reservations = new Reservations(runner, log);
  // Running reservations' nodes join the hosts of the GPUs view and the gauge.
  const reservationHosts = new ReservationHosts(reservations, runner, log, () => settings.intervalMs, wantsProcesses);
  const hostsChanged = new vscode.EventEmitter<void>();
  remote.onDidChange(() => hostsChanged.fire());
  reservationHosts.onDidChange(() => hostsChanged.fire());
  // A GPU of a reservation's node: the cosplay is a process session inside that job.
  const inReservation = (node: GpuTreeNode | undefined, otherwise: () => Promise<void>) => {
    const found = reservationOfGpu(reservationHosts, node);
    if (!found) return otherwise();
    return cosplayOnReservation(reservations, found.job, context.extensionUri, context.globalState, log, found.gpuUuid);
  };
  const hostList: HostList = {
    hosts: () => [{ name: runner.label, monitor }, ...remote.list(), ...reservationHosts.list()],
    notices: () => remote.notices,
    onDidChange: hostsChanged.event,
  };
  const sessions = new CosplaySessions(
    {
      local: runner,
      remoteRunner: (name) => remote.runnerOf(name),
      remoteEntry: (name) => remote.entryOf(name),
      hostNames: () => hostList.hosts().map((h) => h.name),
      pauseMonitor: (name) =>
        hostList
          .hosts()
          .find((h) => h.name === name)
          ?.monitor.pause() ?? (() => undefined),
    },
    log,
  );
  const tree = new GpuTreeProvider(hostList, () => settings, sessions);
  const reservationsView = vscode.window.createTreeView('gpuDev.reservations', { treeDataProvider: reservations });
  const gpuView = vscode.window.createTreeView('gpuDev.gpus', { treeDataProvider: tree, showCollapseAll: false });
  const windowReservation = new WindowReservation(reservations, context.extension.extensionKind);
  const gauge = new VramGauge(hostList, settings, context.workspaceState, sessions, windowReservation);
  const history = new SampleHistory();
  const details = new GpuDetailsPanels(context.extensionUri, hostList, history, (name) => runnerOf(name), log);
  const runnerOf = (name: string) =>
    name === runner.label ? runner : (remote.runnerOf(name) ?? reservationHosts.runnerOf(name));
  const cosplayContext: CosplayContext = {
    extensionUri: context.extensionUri,
    sessions,
    log,
    hosts: () => hostList.hosts(),
    runnerOf,
  };
  const verifyTests = new VerifyTests(sessions, log);
  const sessionCommands = new SessionCommands(sessions, context.extensionUri, log, context.globalState);
  /** Every monitor follows the settings, the window's focus and who is looking (the view: every host; the gauge: its own). */
  const syncMonitors = () => {
    for (const { name, monitor: m } of hostList.hosts()) {
      m.setIntervalMs(settings.intervalMs);
      m.setFocused(vscode.window.state.focused);
      m.setWatched(gpuView.visible || gauge.watches(name) || details.watches(name));
    }
  };

  context.subscriptions.push(
    log,
    gpuView,
    gauge,
    tree,
    remote,
    details,
    sessions,
    verifyTests,
    reservations,
    reservationsView,
    { dispose: () => monitor.dispose() },
    ...registerPanelSerializers(context.extensionUri, details, reservations, log),
    reservationsView.onDidChangeVisibility(({ visible }) => reservations.setVisible(visible)),
    vscode.commands.registerCommand('gpuDev.reserveGpus', async () =>
      ReservePanel.show(context.extensionUri, reservations, log, await workspaceReservePrefill()),
    ),
    vscode.commands.registerCommand('gpuDev.quickReserveGpus', () => reserveGpus(reservations, log)),
    vscode.commands.registerCommand('gpuDev.refreshReservations', () => reservations.refresh()),
    vscode.commands.registerCommand('gpuDev.cancelReservation', (node?: JobNode) =>
      cancelReservation(reservations, node),
    ),
    vscode.commands.registerCommand('gpuDev.copySshCommand', (node?: JobNode) => copySshCommand(reservations, node)),
    vscode.commands.registerCommand('gpuDev.showJobScript', (node?: JobNode) => showJobScript(reservations, node)),
    vscode.commands.registerCommand('gpuDev.attachReservation', (node?: JobNode) =>
      attachReservation(reservations, node, runner, context.globalState, log),
    ),
    vscode.commands.registerCommand('gpuDev.cosplayOnReservation', (node?: JobNode) =>
      cosplayOnReservation(reservations, node, context.extensionUri, context.globalState, log),
    ),
    vscode.commands.registerCommand('gpuDev.runOnReservation', (arg?: JobNode | vscode.Uri) =>
      runOnReservationCommand(reservations, arg, runner, context.globalState, log),
    ),
    onAnySample(hostList, (result) => {
      history.record(result);
      if (result.kind === 'gpus') sessions.noteSample(result.host);
    }),
    remote.onDidChange(() => history.keepHosts(hostList.hosts().map((h) => h.name))),
    vscode.commands.registerCommand('gpuDev.refresh', () =>
      vscode.window.withProgress({ location: { viewId: 'gpuDev.gpus' } }, async () => {
        log.info('refresh requested');
        await Promise.all([...hostList.hosts().map(({ monitor: m }) => m.refresh()), sessions.refresh()]);
      }),
    ),
    vscode.commands.registerCommand('gpuDev.showGpuDetails', (node?: GpuTreeNode) => details.show(node)),
    vscode.commands.registerCommand('gpuDev.addSshHost', () => addSshHost(runner)),
    vscode.commands.registerCommand('gpuDev.editSshHost', (host?: HostArgument) => editSshHost(runner, host)),
    vscode.commands.registerCommand('gpuDev.removeSshHost', (host?: HostArgument) => removeSshHost(host)),
    vscode.commands.registerCommand('gpuDev.reviewHostKey', (name: string) => remote.reviewHostKey(name)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      remote.reload();
      reservations.reload();
    }),
    remote.onDidChange(syncMonitors),
    reservationHosts,
    windowReservation,
    reservationHosts.onDidChange(syncMonitors),
    reservationHosts.onDidChange(() => history.keepHosts(hostList.hosts().map((h) => h.name))),
    hostsChanged,
    gauge.onDidChangeTarget(syncMonitors),
    details.onDidChangeWatchers(syncMonitors),
    vscode.commands.registerCommand('gpuDev.chooseGaugeGpu', () => gauge.choose()),
    vscode.commands.registerCommand('gpuDev.showInStatusBar', (node?: GpuTreeNode) => gauge.choose(node)),
    vscode.commands.registerCommand('gpuDev.cosplayAs', (node?: GpuTreeNode) =>
      inReservation(node, () => cosplayAs(cosplayContext, undefined, node)),
    ),
    vscode.commands.registerCommand('gpuDev.cosplayAsRtx3090', () => cosplayAs(cosplayContext, 'rtx3090')),
    vscode.commands.registerCommand('gpuDev.applyCosplay', (node?: GpuTreeNode) =>
      inReservation(node, () => cosplayAs(cosplayContext, undefined, node, true)),
    ),
    vscode.commands.registerCommand('gpuDev.cosplaySeveralAs', (node?: GpuTreeNode) =>
      reservationOfGpu(reservationHosts, node)
        ? vscode.window.showInformationMessage(
            'A session inside a reservation cosplays one GPU: use Cosplay as… on it.',
          )
        : cosplayAs(cosplayContext, undefined, node, false, true),
    ),
    vscode.commands.registerCommand('gpuDev.openSessionTerminal', (session?: SessionArgument) =>
      sessionCommands.openTerminal(session),
    ),
    vscode.commands.registerCommand('gpuDev.attachToSession', (session?: SessionArgument) =>
      sessionCommands.attach(session),
    ),
    vscode.commands.registerCommand('gpuDev.verifySession', async (session?: SessionArgument) => {
      const name = await sessionCommands.nameOf(session);
      if (name) await verifyTests.verify(name);
    }),
    vscode.commands.registerCommand('gpuDev.benchmarkSession', (session?: SessionArgument) =>
      sessionCommands.benchmark(session),
    ),
    vscode.commands.registerCommand('gpuDev.calibrateSession', (session?: SessionArgument) =>
      sessionCommands.calibrate(session),
    ),
    vscode.commands.registerCommand('gpuDev.stopSession', (session?: SessionArgument) => sessionCommands.stop(session)),
    vscode.commands.registerCommand('gpuDev.retrySessionRestore', (session?: SessionArgument) =>
      sessionCommands.stop(session, true),
    ),
    vscode.commands.registerCommand('gpuDev.cleanUpOrphans', () => sessionCommands.cleanUpOrphans()),
    vscode.commands.registerCommand('gpuDev.openFidelityReport', () => sessionCommands.openReport()),
    remote.onDidChange(() => void sessions.refresh()),
    gpuView.onDidChangeVisibility(({ visible }) => {
      syncMonitors();
      if (visible) void monitor.refreshAfterCurrent(); // fresh, with processes, the moment the view opens
      if (visible) void sessions.refresh();
    }),
    vscode.window.onDidChangeWindowState((state) => {
      syncMonitors();
      if (state.focused && gpuView.visible) void sessions.refresh(); // another window or the CLI may have changed them
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => void noticeWorkspaceMachineSettings()),
    vscode.workspace.onDidSaveTextDocument((document) => {
      if (isWorkspaceSettingsFile(document.uri)) void noticeWorkspaceMachineSettings();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('gpuDev')) return;
      settings = readMonitorSettings();
      gauge.update(settings);
      if (event.affectsConfiguration('gpuDev.clusters')) reservations.reload();
      if (event.affectsConfiguration('gpuDev.reservations.pollSeconds')) reservations.setPollSeconds(pollSeconds());
      if (event.affectsConfiguration('gpuDev.hosts'))
        remote.reload(); // syncs through onDidChange
      else syncMonitors();
    }),
  );
  // The workspace's `.gpudev.yaml` and its analysis (issue 17): the panel, the CodeLens, the commands.
  const workspaceActions: AnalyzeActions = {
    cosplay: (target) => cosplayAs(cosplayContext, target),
    reserve: (report) => {
      const config = report.config;
      const types = config?.gpu?.types ?? report.reserve;
      ReservePanel.show(context.extensionUri, reservations, log, {
        ...(config?.cluster && { cluster: config.cluster }),
        ...(types.length && { types: types.join(', ') }),
        count: config?.gpu?.count ?? report.gpuCount,
        ...(config?.time && { time: config.time }),
        ...(config?.partition && { partition: config.partition }),
      });
      return Promise.resolve();
    },
  };
  const fromWorkspace = (
    act: (found: NonNullable<Awaited<ReturnType<typeof analyzedWorkspace>>>) => Promise<unknown>,
  ) => analyzedWorkspace().then((found) => found && act(found));
  context.subscriptions.push(
    ...registerGpudevYaml(),
    vscode.commands.registerCommand('gpuDev.analyzeWorkspace', () =>
      AnalyzePanel.show(context.extensionUri, workspaceActions, log),
    ),
    vscode.commands.registerCommand('gpuDev.cosplayFromWorkspace', () =>
      fromWorkspace(({ report }) => cosplayAs(cosplayContext, report.target ?? undefined)),
    ),
    vscode.commands.registerCommand('gpuDev.reserveFromWorkspace', () =>
      fromWorkspace(({ report }) => workspaceActions.reserve(report)),
    ),
    vscode.commands.registerCommand('gpuDev.exportSkyPilot', () =>
      fromWorkspace(({ folder, report }) => exportSkyPilot(folder, report)),
    ),
  );
  remote.reload();
  reservations.reload();
  reservations.setVisible(reservationsView.visible);
  void noticeWorkspaceMachineSettings();
  const activationMs = performance.now() - started;
  log.info(`activated in ${activationMs.toFixed(1)} ms`);
  return testApi({
    activationMs,
    logUri: context.logUri,
    gpuTree: tree,
    reservations,
    verifyTests: verifyTests.controller,
  });
}

export function deactivate(): void {}
