// `gpudev analyze [DIR] [--json]`, `gpudev init [DIR] [--force]`, `gpudev export skypilot [DIR]`.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { builtinCatalog } from './catalog/catalog';
import { parseArgs } from './core/cliArgs';
import { CONFIG_FILE } from './workspace/config';
import { analyzeDirectory, configFromReport, reportJson, type WorkspaceReport } from './workspace/report';
import { skyPilotTask, skyPilotYaml } from './workspace/skypilot';
import { formatReport } from './workspace/reportText';

export const WORKSPACE_USAGE = `  gpudev analyze [DIR] [--json]
                            the workspace's workload, model, VRAM estimate by part, and the GPUs it fits
  gpudev init [DIR] [--force]
                            write DIR/.gpudev.yaml from the analysis (never over one without --force)
  gpudev export skypilot [DIR]
                            the workspace as a SkyPilot task YAML on stdout`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

function directory(command: string, positional: readonly string[], io: Io): string | undefined {
  if (positional.length > 1) {
    io.err(`gpudev ${command}: one directory at most, not ${positional.join(' ')}\n`);
    return undefined;
  }
  const dir = resolve(positional[0] ?? '.');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    io.err(`gpudev ${command}: ${dir} is not a directory\n`);
    return undefined;
  }
  return dir;
}

function analyzed(
  command: string,
  args: string[],
  flags: string[],
  io: Io,
): { report: WorkspaceReport; dir: string; flags: Set<string> } | number {
  const parsed = parseArgs(args, new Set(flags), new Set());
  if (typeof parsed === 'string') {
    io.err(`gpudev ${command}: ${parsed}\n`);
    return 2;
  }
  const dir = directory(command, parsed.positional, io);
  if (!dir) return 2;
  const report = analyzeDirectory(dir, builtinCatalog());
  for (const problem of report.configProblems)
    io.err(`${join(dir, CONFIG_FILE)}:${problem.line}:${problem.column}: ${problem.message}\n`);
  return { report, dir, flags: parsed.flags };
}

export function analyzeCommand(args: string[], io: Io): number {
  const result = analyzed('analyze', args, ['--json'], io);
  if (typeof result === 'number') return result;
  const { report, flags } = result;
  io.out(flags.has('--json') ? `${JSON.stringify(reportJson(report), null, 2)}\n` : formatReport(report));
  return report.configProblems.length ? 1 : 0;
}

export function initCommand(args: string[], io: Io): number {
  const result = analyzed('init', args, ['--force'], io);
  if (typeof result === 'number') return result;
  const { report, dir, flags } = result;
  const path = join(dir, CONFIG_FILE);
  if (existsSync(path) && !flags.has('--force')) {
    io.err(`gpudev init: ${path} exists: not overwritten (--force to replace it)\n`);
    return 1;
  }
  writeFileSync(path, configFromReport(report));
  io.out(`wrote ${path}: ${report.estimate.totalGiB} GiB per GPU, develop against ${report.target ?? '—'}\n`);
  return 0;
}

export function exportCommand(args: string[], io: Io): number {
  const [format, ...rest] = args;
  if (format !== 'skypilot') {
    io.err(`gpudev export: the one format is skypilot: gpudev export skypilot [DIR]\n`);
    return 2;
  }
  const result = analyzed('export skypilot', rest, [], io);
  if (typeof result === 'number') return result;
  const { report, dir } = result;
  if (report.configProblems.length) return 1;
  const task = skyPilotTask({
    name: basename(dir),
    fits: report.fits,
    gpuCount: report.gpuCount,
    ...(report.config ? { config: report.config } : {}),
    ...(report.analysis.image ? { image: report.analysis.image } : {}),
    entry: report.entry,
  });
  if ('error' in task) {
    io.err(`gpudev export skypilot: ${String(task.error)}\n`);
    return 1;
  }
  io.out(skyPilotYaml(task));
  return 0;
}
