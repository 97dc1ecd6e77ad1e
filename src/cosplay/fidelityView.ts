import type { FidelityView } from '../../webviews/protocol';
import { historyFor, ratioLevel, type FidelityReport } from './benchReport';
import { fidelityNote } from './fidelity';

/** What the fidelity webview shows for a report and the earlier ones of its target and host. */
export function fidelityView(
  report: FidelityReport,
  all: readonly FidelityReport[],
  savedAs: string | null,
): FidelityView {
  return {
    title: `Fidelity: ${report.targetName} on ${report.host}`,
    subtitle: `${report.session} · ${report.strategy} on ${report.hostModel}${report.device ? ` · torch sees "${report.device}"` : ''} · ${report.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}`,
    versions: versionsLine(report),
    savedAs,
    rows: report.rows.map((row) => ({
      label: row.label,
      unit: row.unit,
      target: row.target,
      predicted: row.predicted,
      measured: row.measured,
      ratio: row.ratio,
      predictedRatio: row.predicted !== null && row.target ? row.predicted / row.target : null,
      achievable: row.achievable ?? null,
      achievableRatio: row.achievableRatio ?? null,
      note: row.note || fidelityNote(row, report.strategy),
      level: ratioLevel(row.achievableRatio ?? row.ratio),
    })),
    history: historyFor(report, all).map((earlier) => ({
      at: earlier.at,
      ratios: Object.fromEntries(earlier.rows.map((r) => [r.label, r.ratio])),
    })),
  };
}

/** The software the measurement depends on, and where the efficiency came from. */
export function versionsLine(report: FidelityReport): string {
  const v = report.versions;
  const software = v
    ? `torch ${v.torch ?? '?'} · CUDA ${v.cuda ?? '?'} · driver ${v.driver ?? '?'}`
    : 'torch, CUDA and driver versions not recorded';
  const from = report.efficiencyFrom;
  const applied = report.rows.some((r) => r.achievable != null) ? '' : ', not applied: see the notes';
  return from
    ? `${software} · efficiency measured un-throttled in ${from.session} (${from.strategy}) at ${from.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}${applied}`
    : `${software} · no efficiency measured: achievable rates not shown`;
}
