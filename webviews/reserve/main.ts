// The reservation webview: a form (cluster, GPU types, count, time, partition), the cluster's GPUs, and
// the strategies of a dry run with Submit on each and Race the Top 2 or 3 (offered when 2 or more can
// start). One request at a time: its buttons wait for the answer. Nodes are built with textContent only.
import { el, icon, vscode } from '../dom';
import {
  FromReserveWebviewSchema,
  ToReserveWebviewSchema,
  type FromReserveWebview,
  type ToReserveWebview,
} from '../protocol';

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
race.hidden = true;
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

/** The table on screen: its plan (what Submit and Race name), its Submit buttons, whether it was submitted. */
let shown: { plan: number; race: number; submits: HTMLButtonElement[]; submitted: boolean } | undefined;
let inFlight = false;

/** A request goes out: every button waits for its answer (a second click cannot send it twice). */
function send(message: FromReserveWebview, text: string): void {
  if (inFlight) return;
  inFlight = true;
  status.className = 'status';
  status.replaceChildren(icon('loading codicon-modifier-spin'), document.createTextNode(` ${text}`));
  syncButtons();
  post(message);
}

/** The answer came: the buttons work again, as far as the table on screen allows. */
function settled(): void {
  inFlight = false;
  syncButtons();
}

function syncButtons(): void {
  dryRun.disabled = inFlight;
  race.hidden = !shown || shown.submitted || shown.race < 2;
  race.disabled = inFlight;
  race.textContent = `Race the Top ${shown?.race ?? 3}`;
  for (const submit of shown?.submits ?? [])
    submit.disabled = inFlight || shown!.submitted || submit.dataset['startable'] !== 'true';
}

dryRun.addEventListener('click', () => {
  // The last table answered another request: it goes at once, whatever this one's fate.
  shown = undefined;
  strategies.replaceChildren();
  send(request(), 'Asking sbatch --test-only…');
});
race.addEventListener('click', () => {
  if (shown) send({ type: 'race', plan: shown.plan }, `Submitting the top ${shown.race}…`);
});
cluster.addEventListener('change', () => {
  shown = undefined;
  strategies.replaceChildren();
  syncButtons();
  post({ type: 'selectCluster', cluster: cluster.value });
});

/** `.gpudev.yaml`'s partition, chosen once the cluster's partitions are known. */
let wantedPartition: string | undefined;

function showClusters(message: Message<'clusters'>): void {
  cluster.replaceChildren(...message.clusters.map((c) => el('option', { text: `${c.name} (${c.login})` })));
  message.clusters.forEach((c, i) => {
    (cluster.options[i] as HTMLOptionElement).value = c.name;
  });
  const prefill = message.prefill;
  wantedPartition = prefill?.partition;
  if (prefill?.types !== undefined) types.value = prefill.types;
  if (prefill?.count !== undefined) count.value = String(prefill.count);
  if (prefill?.time !== undefined) time.value = prefill.time;
  if (prefill?.cluster && message.clusters.some((c) => c.name === prefill.cluster)) cluster.value = prefill.cluster;
  if (message.clusters[0]) post({ type: 'selectCluster', cluster: cluster.value || message.clusters[0].name });
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
  if (wantedPartition && message.partitions.some((p) => p.name === wantedPartition)) partition.value = wantedPartition;
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
  const head = el(
    'tr',
    {},
    ...['#', 'GPUs', 'Partition', 'Start', 'Node', 'GPU-hours', ''].map((h) => el('th', { text: h })),
  );
  const submits: HTMLButtonElement[] = [];
  const rows = message.rows.map((r) => {
    const submit = el('button', { text: 'Submit', className: 'secondary' });
    submit.dataset['startable'] = String(r.startable);
    submit.addEventListener('click', () =>
      send({ type: 'submit', plan: message.plan, index: r.index }, `Submitting ${r.gpus}…`),
    );
    submits.push(submit);
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
  shown = { plan: message.plan, race: message.race, submits, submitted: false };
  strategies.replaceChildren(
    el('h2', { text: 'Strategies, best first' }),
    el('p', { text: message.summary, className: 'note summary' }),
    el('table', { className: 'strategies' }, el('thead', {}, head), el('tbody', {}, ...rows)),
  );
  settled();
}

/** What was submitted replaces "nothing was submitted"; the table stays as a record, with nothing to click. */
function showSubmitted(message: Message<'submitted'>): void {
  if (shown?.plan === message.plan) {
    shown.submitted = true;
    strategies.querySelector('.summary')?.replaceChildren(document.createTextNode(message.summary));
  }
  showResult({ type: 'result', ok: true, message: message.message });
}

function showResult(message: Message<'result'>): void {
  status.replaceChildren(icon(message.ok ? 'pass' : 'error'), document.createTextNode(` ${message.message}`));
  status.className = `status ${message.ok ? 'ok' : 'error'}`;
  settled();
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
  if (message.data.type === 'submitted') showSubmitted(message.data);
});
post({ type: 'ready' });
