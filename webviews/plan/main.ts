// The cosplay plan webview: renders the plan the extension posts. Builds DOM nodes with
// textContent only, so nothing in a plan can become markup.
import { el, icon, vscode } from '../dom';
import { FromPlanWebviewSchema, ToPlanWebviewSchema, type FromPlanWebview, type ToPlanWebview } from '../protocol';

const post = (message: FromPlanWebview) => vscode.postMessage(FromPlanWebviewSchema.parse(message));

type View = Extract<ToPlanWebview, { type: 'plan' }>['view'];

function fidelityTable(view: View): HTMLElement {
  const head = el('tr', {}, ...['Metric', 'Target', 'Cosplay', 'Ratio', 'Verdict'].map((h) => el('th', { text: h })));
  const rows = view.rows.map((row) => {
    const verdict = el(
      'td',
      { className: 'verdict' },
      icon(row.level === 'match' ? 'pass' : row.level === 'off' ? 'warning' : 'info'),
      document.createTextNode(` ${row.verdict}`),
    );
    return el(
      'tr',
      { className: `level-${row.level}` },
      el('td', { text: row.metric }),
      el('td', { text: row.target, className: 'num' }),
      el('td', { text: row.predicted, className: 'num' }),
      el('td', { text: row.ratio, className: 'num' }),
      verdict,
    );
  });
  return el('table', { className: 'fidelity' }, el('thead', {}, head), el('tbody', {}, ...rows));
}

let applyButton: HTMLButtonElement | undefined;

function applySection(view: View): HTMLElement {
  applyButton = el('button', { text: 'Apply' });
  applyButton.disabled = !view.apply.enabled;
  applyButton.addEventListener('click', () => {
    applyButton!.disabled = true;
    applyButton!.textContent = 'Applying…';
    post({ type: 'apply' });
  });
  return el('div', { className: 'apply' }, applyButton, el('span', { text: ` ${view.apply.note}`, className: 'note' }));
}

function render(view: View): void {
  vscode.setState({ view });
  const copy = el('button', { text: 'Copy', className: 'secondary' });
  copy.addEventListener('click', () => post({ type: 'copyCommandLine' }));
  const main = el(
    'main',
    {},
    el('h1', { text: `Cosplay ${view.title}` }),
    ...(view.simulated
      ? [el('p', { className: 'simulated' }, icon('beaker'), document.createTextNode(` ${view.simulated}`))]
      : []),
    el('p', { text: view.summary, className: 'summary' }),
    ...(view.inUse
      ? [el('p', { className: 'in-use' }, icon('warning'), document.createTextNode(` ${view.inUse}`))]
      : []),
    applySection(view),
    fidelityTable(view),
    ...(view.warnings.length
      ? [
          el('h2', { text: 'Warnings' }),
          el(
            'ul',
            { className: 'warnings' },
            ...view.warnings.map((w) => el('li', {}, icon('warning'), document.createTextNode(` ${w}`))),
          ),
        ]
      : []),
    el('h2', { text: 'Host changes, in order' }),
    view.mutations.length
      ? el(
          'ol',
          { className: 'commands' },
          ...view.mutations.map((m) =>
            el(
              'li',
              {},
              el('span', { text: m.description + (m.gpuWide ? ' (whole GPU)' : '') }),
              el('code', { text: m.command }),
            ),
          ),
        )
      : el('p', { text: 'None: nothing on the host changes.' }),
    el('p', {
      text: 'Each change is undone in reverse if a later step fails, and when the session stops.',
      className: 'note',
    }),
    el('h2', { text: 'Container' }),
    el(
      'p',
      { className: 'device' },
      document.createTextNode('Device: '),
      view.device.known ? el('code', { text: view.device.text }) : el('em', { text: view.device.text }),
    ),
    el(
      'table',
      { className: 'env' },
      el(
        'tbody',
        {},
        ...view.env.map((e) =>
          el('tr', {}, el('td', {}, el('code', { text: e.name })), el('td', {}, el('code', { text: e.value }))),
        ),
      ),
    ),
    el('h2', { text: 'Other strategies' }),
    el('ul', {}, ...view.alternatives.map((a) => el('li', { text: a }))),
    el('h2', { text: 'Reproduce on the command line' }),
    el('div', { className: 'command-line' }, el('code', { text: view.commandLine }), copy),
  );
  document.body.replaceChildren(main);
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = ToPlanWebviewSchema.safeParse(event.data);
  if (message.success && message.data.type === 'plan') render(message.data.view);
  if (message.success && message.data.type === 'applied' && applyButton) {
    // Applied: the session is in the GPUs view; a failed or cancelled apply may be tried again.
    applyButton.disabled = message.data.ok;
    applyButton.textContent = message.data.ok ? 'Applied' : 'Apply';
  }
});
post({ type: 'ready' });
