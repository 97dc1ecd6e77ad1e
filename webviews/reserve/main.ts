// The reservation webview: a form (cluster, GPU types, count, time, partition), the cluster's GPUs, and
// the strategies of a dry run with Submit on each and Race the top 3. Nodes are built with textContent only.
import { el, icon } from '../dom';
import {
  FromReserveWebviewSchema,
  ToReserveWebviewSchema,
  type FromReserveWebview,
  type ToReserveWebview,
} from '../protocol';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };
const vscode = acquireVsCodeApi();
const post = (message: FromReserveWebview) => vscode.postMessage(FromReserveWebviewSchema.parse(message));

type Message<T extends ToReserveWebview['type']> = Extract<ToReserveWebview, { type: T }>;

const field = (label: string, input: HTMLElement, hint = '') =>
  el(
    'label',
    { className: 'field' },
    el('span', { text: label }),
    input,
    ...(hint ? [el('small', { text: hint })] : []),
  );
const input = (id: string, value: string, placeholder = '') => {
  const node = el('input', {});
  node.id = id;
  node.value = value;
  node.placeholder = placeholder;
  return node;
};

const cluster = el('select', {});
cluster.id = 'cluster';
const partition = el('select', {});
partition.id = 'partition';
const types = input('types', '', 'h100, a100 (empty: any)');
const count = input('count', '1');
count.type = 'number';
count.min = '1';
const time = input('time', '2h', '30m, 2h, 1-00:00:00');
const nodes = input('nodes', '', 'any');
nodes.type = 'number';
nodes.min = '1';
const dryRun = el('button', { text: 'Dry Run' });
const race = el('button', { text: 'Race the Top 3', className: 'secondary' });
race.disabled = true;
const availability = el('section', {}, el('p', { text: 'Pick a cluster.', className: 'note' }));
const strategies = el('section', {});
const status = el('p', { className: 'status' });
status.setAttribute('role', 'status');

function request(): FromReserveWebview & { type: 'plan' } {
  const fixedNodes = Math.floor(Number(nodes.value));
  return {
    type: 'plan',
    cluster: cluster.value,
    types: types.value,
    count: Math.max(1, Math.floor(Number(count.value) || 1)),
    time: time.value,
    partition: partition.value,
    nodes: fixedNodes >= 1 ? fixedNodes : null,
  };
}

function busy(text: string): void {
  status.replaceChildren(icon('loading codicon-modifier-spin'), document.createTextNode(` ${text}`));
}

dryRun.addEventListener('click', () => {
  busy('Asking sbatch --test-only…');
  post(request());
});
race.addEventListener('click', () => {
  busy('Submitting the top 3…');
  post({ type: 'race' });
});
cluster.addEventListener('change', () => post({ type: 'selectCluster', cluster: cluster.value }));

function showClusters(message: Message<'clusters'>): void {
  cluster.replaceChildren(...message.clusters.map((c) => el('option', { text: `${c.name} (${c.login})` })));
  message.clusters.forEach((c, i) => {
    (cluster.options[i] as HTMLOptionElement).value = c.name;
  });
  if (message.clusters[0]) post({ type: 'selectCluster', cluster: message.clusters[0].name });
  else availability.replaceChildren(el('p', { text: 'No cluster in gpuDev.clusters yet.', className: 'note' }));
}

function showAvailability(message: Message<'availability'>): void {
  partition.replaceChildren(
    el('option', { text: 'default' }),
    ...message.partitions.map((p) => el('option', { text: `${p.name} (${p.limit})` })),
  );
  (partition.options[0] as HTMLOptionElement).value = '';
  message.partitions.forEach((p, i) => {
    (partition.options[i + 1] as HTMLOptionElement).value = p.name;
  });
  if (message.error)
    return void availability.replaceChildren(
      el('p', { className: 'error' }, icon('warning'), document.createTextNode(` ${message.error}`)),
    );
  const head = el(
    'tr',
    {},
    ...['GPU', 'Total', 'In use', 'Free', 'Per node', 'Nodes', 'Node states'].map((h) => el('th', { text: h })),
  );
  const rows = message.rows.map((r) =>
    el(
      'tr',
      {},
      el('td', { text: r.type }),
      ...[r.total, r.used, r.free, r.perNode, r.nodes].map((n) => el('td', { text: String(n), className: 'num' })),
      el('td', { text: r.states }),
    ),
  );
  availability.replaceChildren(
    el('h2', { text: `GPUs on ${message.cluster}` }),
    el('table', { className: 'availability' }, el('thead', {}, head), el('tbody', {}, ...rows)),
  );
}

function showStrategies(message: Message<'strategies'>): void {
  status.replaceChildren();
  const startable = message.rows.filter((r) => r.startable).length;
  race.disabled = startable < 2;
  race.textContent = `Race the Top ${Math.max(2, Math.min(3, startable))}`;
  const head = el(
    'tr',
    {},
    ...['#', 'GPUs', 'Partition', 'Start', 'Node', 'GPU-hours', ''].map((h) => el('th', { text: h })),
  );
  const rows = message.rows.map((r) => {
    const submit = el('button', { text: 'Submit', className: 'secondary' });
    submit.disabled = !r.startable;
    submit.addEventListener('click', () => {
      busy(`Submitting ${r.gpus}…`);
      post({ type: 'submit', index: r.index });
    });
    return el(
      'tr',
      { className: r.startable ? '' : 'unstartable' },
      el('td', { text: String(r.index + 1), className: 'num' }),
      el('td', { text: r.gpus }),
      el('td', { text: r.partition }),
      el('td', { text: r.startable ? r.start : `cannot run: ${r.reason}` }),
      el('td', { text: r.node }),
      el('td', { text: r.cost, className: 'num' }),
      el('td', {}, submit),
    );
  });
  strategies.replaceChildren(
    el('h2', { text: 'Strategies, best first' }),
    el('p', { text: message.summary, className: 'note' }),
    el('table', { className: 'strategies' }, el('thead', {}, head), el('tbody', {}, ...rows)),
  );
}

function showResult(message: Message<'result'>): void {
  status.replaceChildren(icon(message.ok ? 'pass' : 'error'), document.createTextNode(` ${message.message}`));
  status.className = `status ${message.ok ? 'ok' : 'error'}`;
}

document.body.replaceChildren(
  el(
    'main',
    {},
    el('h1', { text: 'Reserve GPUs' }),
    el(
      'form',
      { className: 'request' },
      field('Cluster', cluster),
      field('GPU types', types, 'best first, comma-separated'),
      field('GPUs', count),
      field('Time', time),
      field('Partition', partition),
      field('Nodes', nodes, 'empty: one node, or any split'),
    ),
    el('div', { className: 'actions' }, dryRun, race),
    status,
    availability,
    strategies,
  ),
);
document.querySelector('form')!.addEventListener('submit', (event) => event.preventDefault());

window.addEventListener('message', (event: MessageEvent) => {
  const message = ToReserveWebviewSchema.safeParse(event.data);
  if (!message.success) return;
  if (message.data.type === 'clusters') showClusters(message.data);
  if (message.data.type === 'availability') showAvailability(message.data);
  if (message.data.type === 'strategies') showStrategies(message.data);
  if (message.data.type === 'result') showResult(message.data);
});
post({ type: 'ready' });
