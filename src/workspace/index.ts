// dist/workspace.js: what the extension's workspace commands need, loaded on first use (as dist/cosplay.js
// is) so that activation never parses the catalog, YAML or the full zod.
import { basename } from 'node:path';
import { builtinCatalog } from '../catalog/catalog';
import type { WorkspaceReport } from './report';
import { skyPilotTask, skyPilotYaml } from './skypilot';
import type { AnalyzeViewSchema } from '../../webviews/protocol';
import type * as z from 'zod/mini';

export type AnalyzeView = z.infer<typeof AnalyzeViewSchema>;

export { parseGpudevConfig, type ConfigProblem } from './loadConfig';
export { analyzeDirectory, configFromReport, type WorkspaceReport } from './report';
export { CONFIG_FILE } from './config';
export { syncExcludeOf } from './syncExclude';
export { sessionDefaults, type SessionDefaults } from './sessionDefaults';
export { builtinCatalog };

const PART_NAMES: Record<string, string> = {
  weights: 'Weights',
  adapters: 'LoRA adapters',
  gradients: 'Gradients',
  optimizer: 'Optimizer states',
  activations: 'Activations',
  kvCache: 'KV cache',
  cudaContext: 'CUDA context',
  overhead: 'Allocator overhead',
};

const shortName = (name: string) => name.replace(/^NVIDIA\s+/, '').replace(/^(GeForce|Tesla)\s+/, '');

/** The CodeLens on `.gpudev.yaml`: "needs 18.4 GiB · fits RTX 3090, RTX 4090, L4". */
export function lensSummary(report: WorkspaceReport): string {
  const catalog = builtinCatalog();
  const names = report.fits.slice(0, 3).map((key) => {
    const found = catalog.lookup(key);
    return found.ok ? shortName(found.entry.name) : key;
  });
  const more = report.fits.length > 3 ? ` +${report.fits.length - 3}` : '';
  return `needs ${report.estimate.totalGiB} GiB · ${names.length ? `fits ${names.join(', ')}${more}` : 'fits no catalog GPU'}`;
}

/** The analyze panel's view (webviews/protocol.ts AnalyzeViewSchema). */
export function analyzeView(report: WorkspaceReport, folder: string, hasConfig: boolean): AnalyzeView {
  const catalog = builtinCatalog();
  const e = report.estimate;
  const model = report.model
    ? `${report.model.name} (${(report.model.params / 1e9).toFixed(2)}B, ${report.model.source})`
    : 'no model found';
  return {
    folder: basename(folder),
    summary: `${report.workload}${report.gpuCount > 1 ? ` on ${report.gpuCount} GPUs` : ''} · ${model} · ${report.precision}`,
    totalGiB: e.totalGiB,
    range: e.lowGiB === e.highGiB ? 'per GPU' : `per GPU; ${e.lowGiB}–${e.highGiB} GiB as the uncertain inputs allow`,
    parts: Object.entries(e.parts).map(([name, part]) => ({
      name: PART_NAMES[name] ?? name,
      gib: part.gib,
      formula: part.formula,
    })),
    unknowns: [...e.unknowns],
    fits: report.fits.flatMap((key) => {
      const found = catalog.lookup(key);
      return found.ok
        ? [{ key, name: shortName(found.entry.name), vramGiB: Math.round(found.entry.vramMiB / 1024) }]
        : [];
    }),
    target: report.target,
    reserve: [...report.reserve],
    findings: report.findings.slice(0, 500).map((f) => ({ ...f })),
    skipped: report.skipped.slice(0, 200),
    hasConfig,
  };
}

/** The SkyPilot task YAML for the workspace, or why there is none. */
export function skyPilotExport(report: WorkspaceReport, folder: string): { yaml: string } | { error: string } {
  const task = skyPilotTask({
    name: basename(folder),
    fits: report.fits,
    gpuCount: report.gpuCount,
    ...(report.config ? { config: report.config } : {}),
    ...(report.analysis.image ? { image: report.analysis.image } : {}),
    entry: report.entry,
  });
  return 'error' in task ? { error: String(task.error) } : { yaml: skyPilotYaml(task) };
}
