// The workspace analysis webview: findings (each opens its file at its line), the estimate as a stacked
// bar with its parts, the GPUs it fits, and the buttons. DOM built with textContent only.
import { el, icon, vscode } from '../dom';
import {
  FromAnalyzeWebviewSchema,
  ToAnalyzeWebviewSchema,
  type FromAnalyzeWebview,
  type ToAnalyzeWebview,
} from '../protocol';

const post = (message: FromAnalyzeWebview) => vscode.postMessage(FromAnalyzeWebviewSchema.parse(message));

type View = Extract<ToAnalyzeWebview, { type: 'analysis' }>['view'];

function button(label: string, message: FromAnalyzeWebview, secondary = false): HTMLButtonElement {
  const b = el('button', { text: label, ...(secondary ? { className: 'secondary' } : {}) });
  b.addEventListener('click', () => post(message));
  return b;
}

function stackedBar(view: View): HTMLElement {
  const total = view.parts.reduce((sum, p) => sum + p.gib, 0) || 1;
  const bar = el(
    'div',
    { className: 'bar' },
    ...view.parts.map((part, i) => {
      const segment = el('span', { className: `segment segment-${i % 8}` });
      segment.style.width = `${((part.gib / total) * 100).toFixed(2)}%`;
      segment.title = `${part.name}: ${part.gib.toFixed(2)} GiB`;
      return segment;
    }),
  );
  const legend = el(
    'table',
    { className: 'parts' },
    el(
      'tbody',
      {},
      ...view.parts.map((part, i) =>
        el(
          'tr',
          {},
          el('td', {}, el('span', { className: `swatch segment-${i % 8}` }), document.createTextNode(` ${part.name}`)),
          el('td', { text: `${part.gib.toFixed(2)} GiB`, className: 'num' }),
          el('td', { text: part.formula, className: 'formula' }),
        ),
      ),
    ),
  );
  return el('div', { className: 'estimate' }, bar, legend);
}

function render(view: View): void {
  vscode.setState({ view });
  const actions = el(
    'div',
    { className: 'actions' },
    button(view.hasConfig ? 'Rewrite .gpudev.yaml' : 'Write .gpudev.yaml', { type: 'writeConfig' }),
    ...(view.target ? [button(`Cosplay as ${view.target}`, { type: 'cosplay', target: view.target })] : []),
    button(view.reserve.length ? `Reserve ${view.reserve.join(', ')}` : 'Reserve GPUs…', { type: 'reserve' }, true),
    button('Export SkyPilot YAML', { type: 'exportSkyPilot' }, true),
  );
  const findings = view.findings.map((f) => {
    const link = el('a', { text: `${f.file}:${f.line}`, className: 'finding' });
    link.href = '#';
    link.addEventListener('click', (event) => {
      event.preventDefault();
      post({ type: 'open', file: f.file, line: f.line });
    });
    return el('li', {}, link, document.createTextNode(`  ${f.what}`));
  });
  const main = el(
    'main',
    {},
    el('h1', { text: `Workspace: ${view.folder}` }),
    el('p', { text: view.summary, className: 'summary' }),
    el('h2', { text: `Needs ${view.totalGiB.toFixed(2)} GiB per GPU`, className: 'total' }),
    el('p', { text: view.range, className: 'note' }),
    stackedBar(view),
    actions,
    el('h2', { text: 'Fits' }),
    view.fits.length
      ? el('p', { className: 'fits', text: view.fits.map((f) => `${f.name} (${f.vramGiB} GiB)`).join(' · ') })
      : el('p', { text: 'No catalog GPU: shard it (gpu.count) or quantize.' }),
    ...(view.unknowns.length
      ? [
          el('h2', { text: 'Not known' }),
          el(
            'ul',
            { className: 'unknowns' },
            ...view.unknowns.map((u) => el('li', {}, icon('question'), document.createTextNode(` ${u}`))),
          ),
        ]
      : []),
    el('h2', { text: 'Found' }),
    findings.length ? el('ul', { className: 'findings' }, ...findings) : el('p', { text: 'Nothing.' }),
    ...(view.skipped.length
      ? [el('h2', { text: 'Skipped' }), el('ul', {}, ...view.skipped.map((s) => el('li', { text: s })))]
      : []),
  );
  document.body.replaceChildren(main);
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = ToAnalyzeWebviewSchema.safeParse(event.data);
  if (message.success) render(message.data.view);
});
post({ type: 'ready' });
