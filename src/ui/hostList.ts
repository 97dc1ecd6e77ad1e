import type * as vscode from 'vscode';
import type { GpuDevError } from '../core/errors';
import type { ProbeResult } from '../hosts/gpuProbe';
import type { GpuMonitor } from '../monitor/gpuMonitor';

/** Every host with its monitor (this machine first), and notices about the host list. */
export interface HostList {
  hosts(): ReadonlyArray<{ readonly name: string; readonly monitor: GpuMonitor }>;
  notices(): readonly GpuDevError[];
  readonly onDidChange: vscode.Event<void>;
}

/** Calls `listener` with every sample of every host, following the list as hosts come and go. */
export function onAnySample(list: HostList, listener: (result: ProbeResult) => void): vscode.Disposable {
  let unsubscribe: Array<() => void> = [];
  const subscribe = () => {
    unsubscribe.forEach((stop) => stop());
    unsubscribe = list.hosts().map(({ monitor }) => monitor.onDidChange(listener));
  };
  subscribe();
  const listChanged = list.onDidChange(subscribe);
  return {
    dispose: () => {
      unsubscribe.forEach((stop) => stop());
      listChanged.dispose();
    },
  };
}
