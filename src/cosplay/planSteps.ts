// What a chosen strategy does: the host changes in the order they are made (each with its undo, `{gpu}`
// and the other placeholders filled in at apply), and the environment of the session's container.
import type { GpuEntry } from '../catalog/schema';
import { argv } from './changes';
import type { HostCommand, HostMutation, PlanRequest, StrategyOption } from './planner';

const MIB = 1024 * 1024;

export function mutationsFor(request: PlanRequest, chosen: StrategyOption, powerCapW: number | null): HostMutation[] {
  const gpu = '{gpu}';
  const cmd = (args: readonly string[]): HostCommand => ({ argv: args });
  const steps: HostMutation[] = [];
  if (chosen.migProfile) {
    if (!request.hostMig?.enabled)
      steps.push({
        description: 'enable MIG mode',
        change: { kind: 'migMode' },
        run: cmd(argv.migMode(gpu, '1')),
        undo: [cmd(argv.migMode(gpu, '0'))],
        gpuWide: true,
      });
    const { id } = chosen.migProfile;
    steps.push({
      description: `create a ${chosen.migProfile.name} GPU instance at slice ${chosen.migStart} with its compute instance`,
      change: { kind: 'gpuInstance', profile: chosen.migProfile.name, profileId: id, start: chosen.migStart! },
      run: cmd(argv.createGpuInstance(gpu, String(id), String(chosen.migStart))),
      undo: [cmd(argv.destroyComputeInstances(gpu, '{gi}')), cmd(argv.destroyGpuInstance(gpu, '{gi}'))],
      gpuWide: false,
    });
  }
  if (chosen.mpsThreadPercent !== null) {
    steps.push({
      description: 'start an MPS control daemon with a private pipe directory',
      change: { kind: 'mpsDaemon' },
      run: argv.mpsStart('{mps-dir}'),
      undo: [argv.mpsQuit('{mps-dir}')],
      gpuWide: false,
    });
  }
  if (chosen.clockLockMHz !== null) {
    const mhz = chosen.clockLockMHz;
    steps.push({
      description: `lock graphics clocks at ${mhz} MHz`,
      change: { kind: 'clockLock', mhz },
      run: cmd(argv.lockClocks(gpu, String(mhz))),
      undo: [cmd(argv.resetClocks(gpu))],
      gpuWide: true,
    });
  }
  if (chosen.memoryClockShare !== null) {
    const percent = Math.round(chosen.memoryClockShare * 100);
    steps.push({
      description: `lock memory clocks at the highest supported clock up to ${percent}% of the maximum (bandwidth ${request.target.bandwidthGBs} GB/s)`,
      change: { kind: 'memoryClockLock', percent },
      run: cmd(argv.lockMemoryClocks(gpu, `{memoryClockAtMost${percent}Percent}`)),
      undo: [cmd(argv.resetMemoryClocks(gpu))],
      gpuWide: true,
    });
  }
  if (powerCapW !== null && powerCapW !== request.host.tdpW) {
    steps.push({
      description: `cap power at ${powerCapW} W`,
      change: { kind: 'powerCap', watts: powerCapW },
      run: cmd(argv.powerLimit(gpu, String(powerCapW))),
      undo: [cmd(argv.powerLimit(gpu, '{originalPowerLimit}'))],
      gpuWide: true,
    });
  }
  // Clock locks, power limits and MIG instances are lost when the driver unloads with the last process.
  if (steps.length) {
    steps.unshift({
      description: 'turn on persistence mode, so these settings hold while no process uses the GPU',
      change: { kind: 'persistence' },
      run: cmd(argv.persistence(gpu, '1')),
      undo: [cmd(argv.persistence(gpu, '{originalPersistence}'))],
      gpuWide: true,
    });
  }
  return steps;
}

export function envFor(
  target: GpuEntry,
  chosen: StrategyOption,
  powerCapW: number | null,
  gpuCount: number,
): Record<string, string> {
  const tensor = [
    target.bf16Fp32Acc !== null && 'bf16',
    target.fp16Fp32Acc !== null && 'fp16',
    target.tf32 !== null && 'tf32',
  ]
    .filter(Boolean)
    .join(',');
  return {
    GPUDEV_TARGET: target.key,
    GPUDEV_TARGET_NAME: target.name,
    GPUDEV_VRAM_BYTES: String(target.vramMiB * MIB),
    GPUDEV_SM_COUNT: String(target.smCount),
    GPUDEV_COMPUTE_CAP: target.computeCapability,
    GPUDEV_TDP_W: String(target.tdpW),
    GPUDEV_TENSOR: tensor,
    GPUDEV_GPU_COUNT: String(gpuCount),
    GPUDEV_ECC: target.hasEcc ? '1' : '0',
    GPUDEV_MIG_CAPABLE: target.host?.migProfiles.length ? '1' : '0',
    ...(chosen.clockLockMHz !== null && { GPUDEV_EXPECT_CLOCK_MHZ: String(chosen.clockLockMHz) }),
    ...(powerCapW !== null && { GPUDEV_EXPECT_POWER_W: String(powerCapW) }),
    ...(chosen.mpsThreadPercent !== null && {
      CUDA_MPS_ACTIVE_THREAD_PERCENTAGE: String(chosen.mpsThreadPercent),
      CUDA_MPS_PINNED_DEVICE_MEM_LIMIT: Array.from({ length: gpuCount }, (_, i) => `${i}=${target.vramMiB}M`).join(','),
    }),
  };
}
