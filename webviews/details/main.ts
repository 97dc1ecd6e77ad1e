// The GPU details webview: utilisation and memory of the last ten minutes as a chart (uPlot), the
// sampled fields, and the full `nvidia-smi -q` report. Updated live with each sample.
import uPlot from 'uplot';
import { el, vscode } from '../dom';
import { spanWords, timeAxisRange } from './timeAxis';
import {
  FromDetailsWebviewSchema,
  ToDetailsWebviewSchema,
  type FromDetailsWebview,
  type ToDetailsWebview,
} from '../protocol';

const post = (message: FromDetailsWebview) => vscode.postMessage(FromDetailsWebviewSchema.parse(message));

type Details = Extract<ToDetailsWebview, { type: 'details' }>;
type Sample = Extract<ToDetailsWebview, { type: 'sample' }>;

const MIB_PER_GIB = 1024;
const toGiB = (mib: number | null) => (mib === null ? null : mib / MIB_PER_GIB);
const themeColor = (name: string, fallback: string) =>
  getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

/** Chart columns: seconds, utilisation %, memory GiB (uPlot's aligned data). */
let data: [number[], Array<number | null>, Array<number | null>] = [[], [], []];
let memoryTotalGiB: number | null = null;
let historyMs = 600_000;
let chart: uPlot | undefined;
let fieldsBody: HTMLTableSectionElement | undefined;
let summary: HTMLElement | undefined;
let heading: HTMLElement | undefined;

const headingText = () =>
  `Utilisation and memory, ${spanWords(data[0][0], data[0][data[0].length - 1], historyMs / 1000)}`;

function fieldRows(fields: Details['fields']): HTMLTableRowElement[] {
  return fields.map((f) => el('tr', {}, el('th', { text: f.label }), el('td', { text: f.value })));
}

/** The chart in words, for screen readers and for a glance. */
function describeSeries(): string {
  const util = data[1].filter((v): v is number => v !== null);
  const memory = data[2].filter((v): v is number => v !== null);
  if (util.length + memory.length === 0) return 'No samples yet: the chart fills while the GPU is sampled.';
  const span = Math.round((data[0][data[0].length - 1]! - data[0][0]!) / 60);
  const range = (values: number[], unit: string, digits: number) => {
    if (!values.length) return 'not reported';
    const [low, high] = [Math.min(...values).toFixed(digits), Math.max(...values).toFixed(digits)];
    return `${low === high ? low : `${low}–${high}`}${unit}`;
  };
  return `Last ${span < 1 ? 'minute' : `${span} min`}, ${data[0].length} samples: utilisation ${range(util, ' %', 0)}, memory ${range(memory, ' GiB', 1)}${memoryTotalGiB === null ? '' : ` of ${memoryTotalGiB.toFixed(1)} GiB`}.`;
}

/** Tick length plus the gap to its label, and a margin, in CSS pixels (uPlot's defaults are 10 and 5). */
const TICK_AND_GAP = 10 + 5 + 6;

function makeChart(container: HTMLElement): uPlot {
  const foreground = themeColor('--vscode-foreground', '#ccc');
  const grid = themeColor('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)');
  const font = `12px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
  const measure = document.createElement('canvas').getContext('2d');
  // Each y axis as wide as its widest label ("100 %", "80 GiB"): a fixed width clipped them.
  const sizeOfLabels = (_u: uPlot, values: string[] | null) => {
    if (measure) measure.font = font;
    const widest = Math.max(0, ...(values ?? []).map((v) => measure?.measureText(v).width ?? v.length * 8));
    return Math.ceil(widest + TICK_AND_GAP);
  };
  const axis = { stroke: foreground, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return new uPlot(
    {
      width: Math.max(320, container.clientWidth),
      height: 260,
      scales: {
        // What it has, newest at the right edge, until the whole window is recorded (timeAxisRange).
        x: { time: true, range: () => timeAxisRange(data[0][0], data[0][data[0].length - 1], historyMs / 1000) },
        pct: { range: [0, 100] },
        gib: { range: (_u, _min, max) => [0, memoryTotalGiB ?? Math.max(1, max)] },
      },
      series: [
        {},
        {
          label: 'Utilisation',
          scale: 'pct',
          stroke: themeColor('--vscode-charts-blue', '#3794ff'),
          width: 2,
          value: (_u, v) => (v === null ? '—' : `${v.toFixed(0)} %`),
        },
        {
          label: 'Memory',
          scale: 'gib',
          stroke: themeColor('--vscode-charts-orange', '#d18616'),
          width: 2,
          value: (_u, v) => (v === null ? '—' : `${v.toFixed(1)} GiB`),
        },
      ],
      axes: [
        axis,
        { ...axis, scale: 'pct', size: sizeOfLabels, values: (_u, ticks) => ticks.map((t) => `${t} %`) },
        {
          ...axis,
          scale: 'gib',
          side: 1,
          size: sizeOfLabels,
          grid: { show: false },
          values: (_u, ticks) => ticks.map((t) => `${t} GiB`),
        },
      ],
    },
    data,
    container,
  );
}

function render(details: Details): void {
  vscode.setState(details.restore);
  historyMs = details.historyMs;
  memoryTotalGiB = toGiB(details.series.memoryTotalMiB);
  data = [
    details.series.at.map((at) => at / 1000),
    details.series.utilizationPct,
    details.series.memoryUsedMiB.map(toGiB),
  ];
  const chartBox = el('div', { className: 'chart' });
  chartBox.setAttribute('role', 'img');
  summary = el('p', { className: 'summary' });
  fieldsBody = el('tbody', {}, ...fieldRows(details.fields));
  document.body.replaceChildren(
    el(
      'main',
      {},
      el('h1', { text: details.title }),
      (heading = el('h2', { text: headingText() })),
      chartBox,
      summary,
      el('h2', { text: 'Sampled fields' }),
      el('table', { className: 'fields' }, fieldsBody),
      el('section', { className: 'report' }, el('p', { text: 'Reading nvidia-smi -q…', className: 'summary' })),
    ),
  );
  chart?.destroy();
  chart = makeChart(chartBox);
  summary.textContent = describeSeries();
  chartBox.setAttribute('aria-label', summary.textContent);
}

function addSample(sample: Sample): void {
  const at = sample.at / 1000;
  if (data[0].length && at <= data[0][data[0].length - 1]!) return;
  memoryTotalGiB = toGiB(sample.memoryTotalMiB) ?? memoryTotalGiB;
  data[0].push(at);
  data[1].push(sample.utilizationPct);
  data[2].push(toGiB(sample.memoryUsedMiB));
  const old = data[0].findIndex((t) => t >= at - historyMs / 1000);
  if (old > 0) data = [data[0].slice(old), data[1].slice(old), data[2].slice(old)];
  chart?.setData(data);
  fieldsBody?.replaceChildren(...fieldRows(sample.fields));
  if (summary) summary.textContent = describeSeries();
  if (heading) heading.textContent = headingText();
}

function showReport(report: Extract<ToDetailsWebview, { type: 'report' }>): void {
  const section = document.querySelector('section.report');
  section?.replaceChildren(
    el('h2', { text: report.heading }),
    el('pre', { text: report.text, className: report.ok ? '' : 'error' }),
  );
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = ToDetailsWebviewSchema.safeParse(event.data);
  if (!message.success) return;
  if (message.data.type === 'details') render(message.data);
  else if (message.data.type === 'sample') addSample(message.data);
  else showReport(message.data);
});
window.addEventListener('resize', () => {
  const box = document.querySelector<HTMLElement>('.chart');
  if (chart && box) chart.setSize({ width: Math.max(320, box.clientWidth), height: 260 });
});
post({ type: 'ready' });
