// Reading a host GPU that the catalog lacks and making its model (see unknownHost.ts).
import { builtinCatalog } from '../catalog/catalog';
import { describeError } from '../core/errors';
import { queryHostReport } from '../hosts/gpuProbe';
import type { Runner } from '../hosts/runner';
import { hostModelOf, type HostModel } from './unknownHost';

/** The model of GPU `index` from what it reports; what went wrong as a sentence. */
export async function probeHostModel(runner: Runner, index: number): Promise<HostModel | string> {
  const reported = await queryHostReport(runner, index);
  if (!reported.ok) return describeError(reported.error);
  const made = hostModelOf(reported.report, builtinCatalog());
  return made.ok ? made.model : made.error;
}
