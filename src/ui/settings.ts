import * as vscode from 'vscode';
import type { GaugeThresholds } from '../monitor/gauge';

export interface MonitorSettings extends GaugeThresholds {
  readonly intervalMs: number;
  readonly statusBarEnabled: boolean;
}

const MIN_INTERVAL_MS = 250;

export function readMonitorSettings(): MonitorSettings {
  const config = vscode.workspace.getConfiguration('gpuDev');
  const percent = (key: string, fallback: number) => Math.min(100, Math.max(1, config.get<number>(key, fallback)));
  return {
    intervalMs: Math.max(MIN_INTERVAL_MS, config.get<number>('monitor.intervalMs', 2000)),
    warnPercent: percent('monitor.warnPercent', 80),
    errorPercent: percent('monitor.errorPercent', 95),
    statusBarEnabled: config.get<boolean>('statusBar.enabled', true),
  };
}
