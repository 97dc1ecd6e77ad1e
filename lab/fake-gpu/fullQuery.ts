// `nvidia-smi -q` and `-q -x` for the GPUs asked, from a report captured on one GPU: its GPU block
// once per GPU, with that GPU's bus id, UUID and minor number, and "Attached GPUs" the GPUs the caller
// sees (a container its own, `-i` on a host all of them), as nvidia-smi prints a report of several.
import type { TableGpu } from '../../src/hosts/nvidiaSmi/table';

const TEXT_FIELDS: Record<string, (gpu: TableGpu, uuid: string) => string | null> = {
  'GPU UUID': (_, uuid) => uuid,
  'Minor Number': (gpu) => String(gpu.index),
  'Bus Id': (gpu) => gpu.busId,
};
const XML_FIELDS: Record<string, (gpu: TableGpu, uuid: string) => string | null> = {
  uuid: (_, uuid) => uuid,
  minor_number: (gpu) => String(gpu.index),
  pci_bus_id: (gpu) => gpu.busId,
};

function textLine(line: string, gpu: TableGpu, uuid: string): string {
  if (/^GPU \S+$/.test(line)) return gpu.busId ? `GPU ${gpu.busId}` : line;
  const [key, value] = line.split(' : ');
  const shown = value === undefined ? null : TEXT_FIELDS[key!.trim()]?.(gpu, uuid);
  return shown ? `${key} : ${shown}` : line;
}

function xmlLine(line: string, gpu: TableGpu, uuid: string): string {
  if (/^\s*<gpu id="[^"]*">$/.test(line)) return gpu.busId ? line.replace(/id="[^"]*"/, `id="${gpu.busId}"`) : line;
  const element = /^(\s*)<(\w+)>[^<]*<\/\2>$/.exec(line);
  const shown = element ? XML_FIELDS[element[2]!]?.(gpu, uuid) : null;
  return shown ? `${element![1]}<${element![2]}>${shown}</${element![2]}>` : line;
}

export function fullQuery(
  report: string,
  gpus: readonly TableGpu[],
  attached: number,
  uuids: readonly string[],
  xml: boolean,
): string {
  const lines = report.split('\n');
  const start = lines.findIndex((line) => (xml ? /^\s*<gpu id=/.test(line) : /^GPU \S+$/.test(line)));
  if (start < 0) return report;
  const closing = xml ? lines.findIndex((line, i) => i > start && line.trim() === '</gpu>') : -1;
  const end = xml ? closing + 1 : lines.length - (lines.at(-1) === '' ? 1 : 0);
  if (end <= start) return report;
  const rewrite = xml ? xmlLine : textLine;
  const head = lines
    .slice(0, start)
    .map((line) =>
      xml
        ? line.replace(/<attached_gpus>\d+<\/attached_gpus>/, `<attached_gpus>${attached}</attached_gpus>`)
        : line.replace(/^(Attached GPUs\s+: )\d+$/, `$1${attached}`),
    );
  const blocks = gpus.flatMap((gpu) =>
    lines.slice(start, end).map((line) => rewrite(line, gpu, uuids[gpu.index] ?? '')),
  );
  return [...head, ...blocks, ...lines.slice(end)].join('\n');
}
