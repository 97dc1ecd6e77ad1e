// Reads `.gpudev.yaml` text into a checked config, or problems each with its line and column (1-based).
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type * as z from 'zod';
import { closest } from '../core/suggest';
import { GpudevConfigSchema, type GpudevConfig } from './config';

export interface ConfigProblem {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: GpudevConfig; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** More than this many alias expansions is a "billion laughs" document, not a config. */
const MAX_ALIASES = 100;
const MAX_BYTES = 1024 * 1024;

export function parseGpudevConfig(text: string): ConfigResult {
  if (text.length > MAX_BYTES) return fail([at(1, 1, `${'.gpudev.yaml'} is over 1 MiB: not read`)]);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => lines.linePos(Math.min(offset, text.length));
  const span = (range: readonly [number, number, number?] | null | undefined, message: string): ConfigProblem => {
    const [start, end] = range ?? [0, 0];
    const from = position(start);
    const to = position(Math.max(end, start));
    return { line: from.line, column: from.col, endLine: to.line, endColumn: to.col, message };
  };
  if (doc.errors.length)
    return fail(doc.errors.map((e) => span([e.pos[0], e.pos[1]], `YAML: ${e.message.split('\n')[0]}`)));
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? {};
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail([at(1, 1, `YAML: ${message} (aliases are limited to ${MAX_ALIASES} expansions)`)]);
  }
  const parsed = GpudevConfigSchema.safeParse(data);
  if (parsed.success) return { ok: true, config: parsed.data, problems: [] };
  return fail(parsed.error.issues.flatMap((issue) => describeIssue(doc, issue, span)));
}

function describeIssue(
  doc: Document,
  issue: z.core.$ZodIssue,
  span: (range: readonly [number, number, number?] | null | undefined, message: string) => ConfigProblem,
): ConfigProblem[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const where = path.length ? path.join('.') : 'the file';
  const node = nodeAt(doc, path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(path);
    return issue.keys.map((key) => {
      const keyNode = keyNodeAt(node, key);
      const suggestion = closest(key, known);
      const hint = suggestion.length
        ? `: did you mean ${suggestion.join(', ')}?`
        : `: known keys are ${known.join(', ')}`;
      return span(keyNode?.range ?? node?.range, `Unknown key "${key}" in ${where}${hint}`);
    });
  }
  return [span(node?.range, `${where}: ${issue.message}`)];
}

function nodeAt(doc: Document, path: readonly (string | number)[]): Node | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (node && typeof node === 'object' && 'range' in node) return node as Node;
  }
  return undefined;
}

function keyNodeAt(node: Node | undefined, key: string): Node | undefined {
  if (!isMap(node)) return undefined;
  const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
  return isScalar(pair?.key) ? pair.key : undefined;
}

function knownKeys(path: readonly (string | number)[]): string[] {
  let schema: z.ZodType = GpudevConfigSchema;
  for (const part of path) {
    const unwrapped = unwrap(schema);
    if (!('shape' in unwrapped) || typeof part !== 'string') return [];
    schema = (unwrapped.shape as Record<string, z.ZodType>)[part] ?? unwrapped;
  }
  const object = unwrap(schema);
  return 'shape' in object ? Object.keys(object.shape as object) : [];
}

function unwrap(schema: z.ZodType): z.ZodType & { shape?: unknown } {
  let current = schema as z.ZodType & { unwrap?: () => z.ZodType; shape?: unknown };
  while (!('shape' in current) && typeof current.unwrap === 'function') current = current.unwrap();
  return current;
}

const at = (line: number, column: number, message: string): ConfigProblem => ({
  line,
  column,
  endLine: line,
  endColumn: column + 1,
  message,
});
const fail = (problems: ConfigProblem[]): ConfigResult => ({
  ok: false,
  problems: problems.sort((a, b) => a.line - b.line || a.column - b.column),
});
