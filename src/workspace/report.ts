// A directory → its analysis, estimate and fits: what `gpudev analyze`, the panel and the CodeLens show.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Catalog } from '../catalog/catalog';
import { analyzeWorkspace, type Analysis } from './analyze';
import { CONFIG_FILE, type GpudevConfig } from './config';
import { entryCommands, type EntryCommands } from './entry';
import { estimateMemory, type Estimate } from './estimate';
import type { Finding } from './findings';
import { fittingGpus } from './fits';
import { parseGpudevConfig, type ConfigProblem } from './loadConfig';
import { readBounded, scanWorkspace } from './scan';

export interface WorkspaceReport {
  readonly workload: Analysis['workload'];
  readonly gpuCount: number;
  readonly model: { readonly name: string; readonly params: number; readonly source: string } | null;
  readonly precision: Analysis['precision'];
  readonly estimate: Estimate;
  readonly fits: readonly string[];
  readonly target: string | null;
  readonly reserve: readonly string[];
  readonly findings: readonly Finding[];
  readonly skipped: readonly string[];
  readonly config: GpudevConfig | null;
  readonly configProblems: readonly ConfigProblem[];
  readonly analysis: Analysis;
  /** `setup:` / `run:` found at the workspace root, for `init` and the SkyPilot export. */
  readonly entry: EntryCommands;
}

export function analyzeDirectory(dir: string, catalog: Catalog, gresTypes: readonly string[] = []): WorkspaceReport {
  const { files, skipped } = scanWorkspace(dir);
  const configPath = join(dir, CONFIG_FILE);
  let config: GpudevConfig | undefined;
  let configProblems: readonly ConfigProblem[] = [];
  if (lexists(configPath)) {
    const text = readBounded(configPath);
    const parsed = typeof text === 'string' ? parseGpudevConfig(text) : undefined;
    if (parsed?.ok) config = parsed.config;
    else
      configProblems = parsed?.problems ?? [
        {
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 1,
          message: `not read: ${typeof text === 'string' ? '' : text.why}`,
        },
      ];
  }
  const analysis = analyzeWorkspace(
    files.filter((f) => f.path !== CONFIG_FILE),
    config,
  );
  const estimate = estimateMemory(analysis, config?.gpu?.memoryGiB);
  const fits = fittingGpus(catalog, estimate.totalGiB, config?.gpu?.types ?? gresTypes);
  const target = config?.gpu?.target ?? fits.developAgainst ?? null;
  return {
    workload: analysis.workload,
    gpuCount: analysis.gpuCount,
    model: analysis.model
      ? { name: analysis.model.name, params: analysis.model.shape.params, source: analysis.model.source }
      : null,
    precision: analysis.precision,
    estimate,
    fits: fits.fits,
    target,
    reserve: fits.reserve,
    findings: analysis.findings,
    skipped,
    config: config ?? null,
    configProblems,
    analysis,
    entry: entryCommands(files),
  };
}

/** The `gpudev analyze --json` shape (issue 17). */
export function reportJson(report: WorkspaceReport): Record<string, unknown> {
  const { workload, gpuCount, model, precision, estimate, fits, target, reserve, findings, skipped, configProblems } =
    report;
  return { workload, gpuCount, model, precision, estimate, fits, target, reserve, findings, skipped, configProblems };
}

/** A `.gpudev.yaml` from the analysis: what it found, nothing invented. */
export function configFromReport(report: WorkspaceReport): string {
  const a = report.analysis;
  const config: GpudevConfig = {
    workload: a.workload,
    ...(a.model ? { model: a.model.source === '.gpudev.yaml' ? { params: a.model.shape.params } : a.model.name } : {}),
    precision: a.precision,
    ...(a.batch ? { batch: a.batch } : {}),
    ...(a.sequence ? { sequence: a.sequence } : {}),
    gpu: { count: a.gpuCount, ...(report.target ? { target: report.target } : {}) },
    ...(a.image ? { image: a.image } : {}),
    ...report.entry,
    sync: { exclude: ['.git', '.venv', '__pycache__', 'checkpoints', 'outputs', 'wandb'] },
  };
  const header = `# GPU Dev Environments: this workspace's GPU environment (docs/workspace.md). Commit it.\n# Estimate: ${report.estimate.totalGiB} GiB per GPU; fits ${report.fits.slice(0, 4).join(', ') || 'no catalog GPU'}.\n`;
  return header + stringify(config, { lineWidth: 0 });
}

const lexists = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};
