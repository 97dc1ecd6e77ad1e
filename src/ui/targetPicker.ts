// The catalog pickers: the target to cosplay as (grouped by family, the workspace's target first, "did
// you mean" when nothing matches what was typed) and the host model to plan for.
import * as vscode from 'vscode';
import type * as Cosplay from '../cosplay/index';
import { rankByTokens } from '../core/suggest';
import { shortGpuName } from '../hosts/gpu';
import { cosplay } from './cosplayModule';
import { workspaceTarget } from './workspaceDefaults';

type GpuEntry = Cosplay.GpuEntry;

function entryItem(entry: GpuEntry): vscode.QuickPickItem & { entry: GpuEntry } {
  const tensor = entry.bf16Fp32Acc ?? entry.fp16Fp32Acc;
  return {
    label: shortGpuName(entry.name),
    description: `${(entry.vramMiB / 1024).toFixed(0)} GiB · ${entry.fp32Tflops} TFLOPS FP32${tensor ? ` · ${tensor} tensor` : ''}`,
    detail: entry.key,
    entry,
  };
}

function grouped(
  entries: readonly GpuEntry[],
  groupOf: (entry: GpuEntry) => string,
): Array<vscode.QuickPickItem & { entry?: GpuEntry }> {
  const items: Array<vscode.QuickPickItem & { entry?: GpuEntry }> = [];
  let group: string | undefined;
  for (const entry of entries) {
    if (groupOf(entry) !== group) {
      group = groupOf(entry);
      items.push({ label: group, kind: vscode.QuickPickItemKind.Separator });
    }
    items.push(entryItem(entry));
  }
  return items;
}

/** Families in catalog order, each from slowest to fastest. */
function byFamilyThenSpeed(entries: readonly GpuEntry[]): GpuEntry[] {
  const families = [...new Set(entries.map((e) => e.family))];
  return [...entries].sort(
    (a, b) => families.indexOf(a.family) - families.indexOf(b.family) || a.fp32Tflops - b.fp32Tflops,
  );
}

type TargetItem = vscode.QuickPickItem & { entry?: GpuEntry };

/** Whether the picker shows anything for `typed`: a plain substring of an item's label, description or detail (VS Code's filter finds at least those). */
function anyItemShows(items: readonly TargetItem[], typed: string): boolean {
  const query = typed.trim().toLowerCase();
  return items.some(
    (item) =>
      item.entry && [item.label, item.description, item.detail].some((text) => text?.toLowerCase().includes(query)),
  );
}

/** "Did you mean RTX 3090 Ti?": the closest GPU by the tokens typed, for when nothing in the list matches. */
function suggestionItem(entries: readonly GpuEntry[], typed: string): TargetItem | undefined {
  const [key] = rankByTokens(
    typed,
    entries.map((entry) => ({ value: entry.key, names: [entry.key, entry.name, ...entry.aliases] })),
    1,
  );
  const entry = entries.find((e) => e.key === key);
  if (!entry) return undefined;
  const plain = entry.name.replace(/^NVIDIA\s+/, '').replace(/^(GeForce|Tesla)\s+/, '');
  return { ...entryItem(entry), label: `$(lightbulb) Did you mean ${plain}?`, alwaysShow: true };
}

/** The target picker; the workspace's `.gpudev.yaml` target, when it names one, first and selected. */
export async function pickTarget(): Promise<GpuEntry | undefined> {
  const catalog = cosplay().builtinCatalog();
  const entries = byFamilyThenSpeed(catalog.entries);
  const configured = await workspaceTarget();
  const found = configured ? catalog.lookup(configured) : undefined;
  const items: TargetItem[] = [
    ...(found?.ok
      ? [{ label: 'This workspace (.gpudev.yaml)', kind: vscode.QuickPickItemKind.Separator }, entryItem(found.entry)]
      : []),
    ...grouped(entries, (e) => e.family),
  ];
  const picker = vscode.window.createQuickPick<TargetItem>();
  picker.title = 'Cosplay as…';
  picker.placeholder = 'The GPU to develop as if on (type to filter: 3090, L4, A100…)';
  picker.matchOnDescription = true;
  picker.matchOnDetail = true;
  picker.items = items;
  picker.onDidChangeValue((typed) => {
    const suggestion = typed.trim() && !anyItemShows(items, typed) ? suggestionItem(entries, typed) : undefined;
    picker.items = suggestion ? [suggestion, ...items] : items;
  });
  return new Promise((resolve) => {
    picker.onDidAccept(() => {
      resolve(picker.selectedItems[0]?.entry);
      picker.hide();
    });
    picker.onDidHide(() => {
      resolve(undefined);
      picker.dispose();
    });
    picker.show();
  });
}

export async function pickHostModel(): Promise<GpuEntry | undefined> {
  const entries = cosplay().builtinCatalog().entries;
  const hasMig = (e: GpuEntry) => !!e.host?.migProfiles.length;
  const ordered = [...entries.filter(hasMig), ...entries.filter((e) => !hasMig(e))];
  const picked = await vscode.window.showQuickPick(
    grouped(ordered, (e) => (hasMig(e) ? 'Hosts with MIG' : 'Other GPUs (MPS or memory cap)')),
    {
      title: 'Plan for a host model',
      placeHolder: 'The big GPU that will play the part',
      matchOnDescription: true,
      matchOnDetail: true,
    },
  );
  return picked?.entry;
}
