import type * as vscode from 'vscode';
import type { GpuTreeNode } from './gpuTree';
import type { ReservationNode } from './reservations';

/**
 * What the host tier (test/host) reads from inside the extension host, through `activate()`'s return
 * value. Returned only when the environment sets GPUDEV_TEST_API: users' windows export nothing.
 */
export interface GpuDevTestApi {
  /** How long `activate()` took, in milliseconds (also written to the output channel). */
  readonly activationMs: number;
  /** The folder of this extension's logs in this window (its output channel's file is beside it). */
  readonly logUri: vscode.Uri;
  /** The GPUs view's provider. */
  readonly gpuTree: vscode.TreeDataProvider<GpuTreeNode>;
  /** The Reservations view's provider. */
  readonly reservations: vscode.TreeDataProvider<ReservationNode>;
  /** The Test Explorer's "GPU Cosplay" controller: a session's item, and a child per check once verified. */
  readonly verifyTests: vscode.TestController;
}

export function testApi(api: GpuDevTestApi, env: NodeJS.ProcessEnv = process.env): GpuDevTestApi | undefined {
  return env.GPUDEV_TEST_API ? api : undefined;
}
