// The fidelity report webview: per metric the target's datasheet and achievable rate (datasheet × the
// host's efficiency), the plan's prediction and what the bench measured, ratios coloured (±10% green,
// against the achievable rate where there is one), a bar chart of the ratios, and earlier runs.
import { el, icon, vscode } from '../dom';
import {
  FromFidelityWebviewSchema,
  ToFidelityWebviewSchema,
  type FidelityView,
  type FromFidelityWebview,
} from '../protocol';

const post = (message: FromFidelityWebview) => vscode.postMessage(FromFidelityWebviewSchema.parse(message));

type Row = FidelityView['rows'][number];
const SVG = 'http://www.w3.org/2000/svg';
const number = (value: number | null, unit: string) =>
  value === null ? '—' : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
const percent = (ratio: number | null) => (ratio === null ? '—' : `${Math.round(ratio * 100)}%`);
/** ±10% is a match, as in the extension's reports. */
const levelOf = (ratio: number | null): Row['level'] =>
  ratio === null ? 'none' : Math.abs(ratio - 1) <= 0.1 ? 'match' : 'off';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  ...children: Node[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

function table(view: FidelityView): HTMLElement {
  const head = el(
    'tr',
    {},
    ...[
      'Metric',
      'Target (datasheet)',
      'Target (achievable)',
      'Plan predicts',
      'Measured',
      'Measured / datasheet',
      'Measured / achievable',
      'Note',
    ].map((h) => el('th', { text: h })),
  );
  const ratioCell = (ratio: number | null, level: Row['level']) =>
    el(
      'td',
      { className: `num ratio level-${level}` },
      icon(level === 'match' ? 'pass' : level === 'off' ? 'warning' : 'circle-slash'),
      document.createTextNode(` ${percent(ratio)}`),
    );

  const rows = view.rows.map((row) =>
    el(
      'tr',
      { className: `level-${row.level}` },
      el('td', { text: row.label }),
      el('td', { text: number(row.target, row.unit), className: 'num' }),
      el('td', { text: number(row.achievable, row.unit), className: 'num achievable' }),
      el('td', { text: number(row.predicted, row.unit), className: 'num' }),
      el('td', { text: number(row.measured, row.unit), className: 'num' }),
      ratioCell(row.ratio, levelOf(row.ratio)),
      ratioCell(row.achievableRatio, levelOf(row.achievableRatio)),
      el('td', { text: row.note }),
    ),
  );
  return el('table', { className: 'fidelity' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

/**
 * Grouped bars per metric, on a log scale around the target's datasheet figure (the dashed 100% line):
 * the plan's prediction and the measurement grow up when faster, down when slower; ±10% is shaded.
 */
function chart(rows: readonly Row[]): SVGSVGElement {
  const shownRows = rows.filter((r) => r.target !== null);
  const ratios = shownRows
    .flatMap((r) => [r.ratio, r.predictedRatio, r.achievableRatio])
    .filter((r): r is number => r !== null && r > 0);
  const span = Math.max(1, ...ratios.map((r) => Math.ceil(Math.abs(Math.log2(r)))));
  const width = 160 * shownRows.length + 70;
  const plot = { left: 54, top: 14, bottom: 214 };
  const y = (ratio: number) => plot.top + ((plot.bottom - plot.top) * (span - Math.log2(ratio))) / (2 * span);
  const ticks = Array.from({ length: 2 * span + 1 }, (_, i) => 2 ** (i - span));
  const parts: SVGElement[] = [
    svg('rect', { x: plot.left, y: y(1.1), width: width - plot.left, height: y(0.9) - y(1.1), class: 'band' }),
    ...ticks.flatMap((t) => [
      svg('line', { x1: plot.left, x2: width, y1: y(t), y2: y(t), class: t === 1 ? 'target-line' : 'grid' }),
      svg(
        'text',
        { x: plot.left - 6, y: y(t) + 4, class: 'axis', 'text-anchor': 'end' },
        document.createTextNode(t === 1 ? 'target' : `${Math.round(t * 100)}%`),
      ),
    ]),
  ];
  shownRows.forEach((row, i) => {
    const x = plot.left + 20 + i * 160;
    const bar = (ratio: number | null, offset: number, kind: string) =>
      ratio === null || ratio <= 0
        ? []
        : [
            // At least 3 px, so a bar on target still shows.
            svg(
              'rect',
              {
                x: x + offset,
                y: Math.min(y(ratio), y(1) - 1.5),
                width: 36,
                height: Math.max(3, Math.abs(y(ratio) - y(1))),
                class: `bar ${kind} level-${kind === 'predicted' ? 'none' : levelOf(ratio)}`,
              },
              svg(
                'title',
                {},
                document.createTextNode(
                  `${row.label} ${kind}: ${percent(ratio)} of the ${kind === 'achievable' ? 'achievable rate' : 'datasheet'}`,
                ),
              ),
            ),
            svg(
              'text',
              {
                x: x + offset + 18,
                y: ratio >= 1 ? y(ratio) - 4 : y(ratio) + 12,
                class: 'value',
                'text-anchor': 'middle',
              },
              document.createTextNode(percent(ratio)),
            ),
          ];
    parts.push(
      ...bar(row.predictedRatio, 0, 'predicted'),
      ...bar(row.ratio, 40, 'measured'),
      ...bar(row.achievableRatio, 80, 'achievable'),
      svg(
        'text',
        { x: x + 58, y: plot.bottom + 18, class: 'axis', 'text-anchor': 'middle' },
        document.createTextNode(row.label),
      ),
    );
  });
  const legend = plot.bottom + 34;
  parts.push(
    svg('rect', { x: plot.left, y: legend - 10, width: 12, height: 12, class: 'legend bar predicted' }),
    svg('text', { x: plot.left + 16, y: legend, class: 'axis' }, document.createTextNode('plan predicts')),
    svg('rect', {
      x: plot.left + 120,
      y: legend - 10,
      width: 12,
      height: 12,
      class: 'legend bar measured level-match',
    }),
    svg('text', { x: plot.left + 136, y: legend, class: 'axis' }, document.createTextNode('measured / datasheet')),
    svg('rect', {
      x: plot.left + 290,
      y: legend - 10,
      width: 12,
      height: 12,
      class: 'legend bar achievable level-match',
    }),
    svg(
      'text',
      { x: plot.left + 306, y: legend, class: 'axis' },
      document.createTextNode('measured / achievable (green within ±10%, orange outside)'),
    ),
  );
  const height = legend + 8;
  return svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      class: 'chart',
      role: 'img',
      'aria-label':
        'Predicted and measured throughput as a share of the target datasheet and of its achievable rate, log scale',
    },
    ...parts,
  );
}

function history(view: FidelityView): HTMLElement[] {
  if (!view.history.length)
    return [el('p', { className: 'note', text: 'No earlier reports of this target on this host.' })];
  const labels = view.rows.map((r) => r.label);
  const head = el('tr', {}, el('th', { text: 'Run' }), ...labels.map((l) => el('th', { text: l })));
  const rows = [...view.history]
    .reverse()
    .map((run) =>
      el(
        'tr',
        {},
        el('td', { text: run.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') }),
        ...labels.map((l) => el('td', { text: percent(run.ratios[l] ?? null), className: 'num' })),
      ),
    );
  return [el('table', { className: 'history' }, el('thead', {}, head), el('tbody', {}, ...rows))];
}

function render(view: FidelityView): void {
  vscode.setState({ view });
  const open = el('button', { text: 'Open Report File', className: 'secondary' });
  open.addEventListener('click', () => post({ type: 'openReportFile' }));
  document.body.replaceChildren(
    el(
      'main',
      {},
      el('h1', { text: view.title }),
      el('p', { text: view.subtitle, className: 'summary' }),
      ...(view.versions ? [el('p', { text: view.versions, className: 'versions' })] : []),
      ...(view.simulated
        ? [el('p', { className: 'simulated' }, icon('beaker'), document.createTextNode(` ${view.simulated}`))]
        : []),
      chart(view.rows),
      table(view),
      el('h2', { text: 'Earlier runs (measured / target)' }),
      ...history(view),
      el(
        'p',
        { className: 'note' },
        document.createTextNode(
          view.savedAs
            ? `Saved as ${view.savedAs} `
            : 'Not saved: open a folder to keep reports under .gpudev/reports/. ',
        ),
        ...(view.savedAs ? [open] : []),
      ),
    ),
  );
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = ToFidelityWebviewSchema.safeParse(event.data);
  if (message.success) render(message.data.view);
});
post({ type: 'ready' });
