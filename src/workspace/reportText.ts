import { alignColumns } from '../core/textTable';
import { fmt } from './estimate';
import type { WorkspaceReport } from './report';

const PART_NAMES: Record<string, string> = {
  weights: 'weights',
  adapters: 'LoRA adapters',
  gradients: 'gradients',
  optimizer: 'optimizer states',
  activations: 'activations',
  kvCache: 'KV cache',
  cudaContext: 'CUDA context',
  overhead: 'allocator overhead',
};

/** The text `gpudev analyze` prints. */
export function formatReport(report: WorkspaceReport): string {
  const a = report.analysis;
  const e = report.estimate;
  const model = report.model
    ? `${report.model.name} (${fmt(report.model.params)} params, ${report.model.source})`
    : 'not found';
  const setup = [
    a.quantization,
    a.lora ? `LoRA${a.lora.rank ? ` r=${a.lora.rank}` : ''}` : undefined,
    a.checkpointing ? 'gradient checkpointing' : undefined,
    a.optimizer,
    a.sharding,
    a.batch ? `batch ${a.batch}` : undefined,
    a.sequence ? `sequence ${a.sequence}` : undefined,
  ].filter(Boolean);
  const lines = [
    `workload   ${report.workload}${report.gpuCount > 1 ? ` on ${report.gpuCount} GPUs` : ''}`,
    `model      ${model}`,
    `precision  ${report.precision}${setup.length ? ` · ${setup.join(' · ')}` : ''}`,
    '',
    `needs ${e.totalGiB} GiB per GPU${e.lowGiB !== e.highGiB ? ` (${e.lowGiB}–${e.highGiB})` : ''}`,
    ...alignColumns(
      Object.entries(e.parts).map(([name, part]) => [
        '  ' + (PART_NAMES[name] ?? name),
        part.gib.toFixed(2),
        part.formula,
      ]),
      [0, 2],
    ),
    '',
    `fits       ${fitsLine(report.fits)}`,
    `develop against  ${report.target ?? '—'}`,
    ...(report.reserve.length ? [`reserve    ${report.reserve.join(', ')}`] : []),
    ...(e.unknowns.length ? ['', 'unknown:', ...e.unknowns.map((u) => `  - ${u}`)] : []),
    '',
    'found:',
    ...report.findings.map((f) => `  ${f.file}:${f.line}  ${f.what}`),
    ...(report.skipped.length ? ['', 'skipped:', ...report.skipped.map((s) => `  ${s}`)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

const SHOWN_FITS = 12;

function fitsLine(fits: readonly string[]): string {
  if (!fits.length) return 'no catalog GPU: shard it (gpu.count) or quantize';
  const more = fits.length - SHOWN_FITS;
  return `${fits.slice(0, SHOWN_FITS).join(', ')}${more > 0 ? ` (+${more} faster; --json lists all)` : ''}`;
}
