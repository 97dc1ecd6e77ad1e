// Reading a host GPU that the catalog lacks and making its model (see unknownHost.ts).
import { builtinCatalog } from '../catalog/catalog';
import { describeError } from '../core/errors';
import type { GpuEntry } from '../catalog/schema';
import { queryHostReport } from '../hosts/gpuProbe';
import { parseLgip } from '../hosts/nvidiaSmi/hostReport';
import type { Runner } from '../hosts/runner';
import { hostModelOf, migProfilesIncomplete, withReportedMigProfiles, type HostModel } from './unknownHost';

/** The model of GPU `index` from what it reports; what went wrong as a sentence. */
export async function probeHostModel(runner: Runner, index: number): Promise<HostModel | string> {
  const reported = await queryHostReport(runner, index);
  if (!reported.ok) return describeError(reported.error);
  const made = hostModelOf(reported.report, builtinCatalog());
  return made.ok ? made.model : made.error;
}

/**
 * A catalog host whose MIG profiles no source listed in full, completed from what its GPU reports
 * (`mig -lgip`); the note says which came from the report. Unchanged where it reports none.
 */
export async function withHostMigProfiles(
  runner: Runner,
  index: number,
  entry: GpuEntry,
): Promise<{ entry: GpuEntry; note?: string }> {
  if (!migProfilesIncomplete(entry)) return { entry };
  const result = await runner.run(['nvidia-smi', 'mig', '-lgip', '-i', String(index)]);
  if (result.exitCode !== 0) return { entry };
  const completed = withReportedMigProfiles(entry, parseLgip(result.stdout, index));
  return completed.added.length
    ? {
        entry: completed.entry,
        note: `MIG profiles ${completed.added.join(', ')} of ${entry.name}: reported by the GPU (mig -lgip), not in the catalog`,
      }
    : { entry };
}
