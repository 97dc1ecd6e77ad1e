import type { FidelityView } from '../../webviews/protocol';
import { historyFor, ratioLevel, type FidelityReport } from './benchReport';
import { measuredNote } from './fidelity';

/** What the fidelity webview shows for a report and the earlier ones of its target and host. */
export function fidelityView(
  report: FidelityReport,
  all: readonly FidelityReport[],
  savedAs: string | null,
): FidelityView {
  return {
    title: `Fidelity: ${report.targetName} on ${report.host}`,
    subtitle: `${report.session} · ${report.strategy} on ${report.hostModel}${report.device ? ` · torch sees "${report.device}"` : ''} · ${report.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}`,
    savedAs,
    rows: report.rows.map((row) => ({
      label: row.label,
      unit: row.unit,
      target: row.target,
      predicted: row.predicted,
      measured: row.measured,
      ratio: row.ratio,
      predictedRatio: row.predicted !== null && row.target ? row.predicted / row.target : null,
      note: row.note || measuredNote(row.metric, row.ratio, report.strategy),
      level: ratioLevel(row.ratio),
    })),
    history: historyFor(report, all).map((earlier) => ({
      at: earlier.at,
      ratios: Object.fromEntries(earlier.rows.map((r) => [r.label, r.ratio])),
    })),
  };
}
