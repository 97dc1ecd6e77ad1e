// Python packages a workspace declares: requirements*.txt, pyproject.toml ([project], optional
// dependencies, Poetry), setup.py / setup.cfg, environment.yml, Dockerfile `RUN pip install`; else imports.
import type { WorkspaceFile } from './scan';
import { lineOf, matchesWithLines } from './findings';

export interface PackageRef {
  /** Normalised as PyPI does: lower case, `_`/`.` → `-`. */
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

export const normalizePackage = (name: string) => name.toLowerCase().replace(/[_.]+/g, '-');

/** A requirement specifier's name: "torch>=2.1 ; python_version>'3'" → "torch", "peft[extras]" → "peft". */
function requirementName(spec: string): string | undefined {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec);
  return match && !spec.trimStart().startsWith('-') ? normalizePackage(match[1]!) : undefined;
}

function fromRequirementLines(file: WorkspaceFile): PackageRef[] {
  return file.text.split('\n').flatMap((raw, i) => {
    const name = requirementName(raw.replace(/#.*/, ''));
    return name ? [{ name, file: file.path, line: i + 1 }] : [];
  });
}

const MAX_REFS = 300;

/** How far a requirement list may run past its `[`: a list without `]` is not read to the end of the file. */
const MAX_LIST = 20_000;

/** Quoted requirement strings inside a list: `dependencies = ["torch>=2", "peft"]`, `install_requires=[...]`. */
function fromQuotedList(
  file: WorkspaceFile,
  start: RegExp,
  keep: (line: number) => boolean = () => true,
): PackageRef[] {
  const found: PackageRef[] = [];
  for (const { match, line } of matchesWithLines(file.text, start)) {
    const open = file.text.indexOf('[', match.index + match[0].length - 1);
    if (open === -1 || !keep(line)) continue;
    const window = file.text.slice(open, open + MAX_LIST);
    const close = window.indexOf(']');
    if (close === -1) continue;
    const openLine = lineOf(file.text, open, { index: match.index, line });
    for (const item of matchesWithLines(window.slice(0, close), /["']([^"'\n]+)["']/)) {
      const name = requirementName(item.match[1]!);
      if (name) found.push({ name, file: file.path, line: openLine + item.line - 1 });
    }
  }
  return found;
}

/** The TOML table each line is in (`[project.optional-dependencies]`), by 1-based line. */
function tomlTables(text: string): string[] {
  let table = '';
  return ['', ...text.split('\n').map((line) => (/^\s*\[/.test(line) ? (table = line.trim()) : table))];
}

/** `[tool.poetry.dependencies]` tables and setup.cfg's `install_requires =` block: one `name = …` per line. */
function fromTableLines(file: WorkspaceFile, header: RegExp, keyed: boolean): PackageRef[] {
  const found: PackageRef[] = [];
  let inside = false;
  file.text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '');
    if (/^\s*\[/.test(line)) inside = header.test(line.trim());
    else if (!keyed && /^\S/.test(line)) inside = header.test(line.trim());
    else if (inside) {
      const spec = keyed ? /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*=/.exec(line)?.[1] : line.trim();
      const name = spec ? requirementName(spec) : undefined;
      if (name && name !== 'python') found.push({ name, file: file.path, line: i + 1 });
    }
  });
  return found;
}

function fromPipInstall(file: WorkspaceFile): PackageRef[] {
  const found: PackageRef[] = [];
  for (const { match, line } of matchesWithLines(file.text, /pip3?\s+install\s+([^\n&;|\\]*(?:\\\n[^\n&;|\\]*)*)/)) {
    const argsAt = match.index + match[0].length - match[1]!.length;
    for (const word of matchesWithLines(match[1]!, /[^\s\\]+/)) {
      const text = word.match[0];
      const name = text.startsWith('-') ? undefined : requirementName(text.replace(/^["']|["']$/g, ''));
      if (name && !text.includes('/') && !text.endsWith('.txt'))
        found.push({
          name,
          file: file.path,
          line: lineOf(file.text, argsAt + word.match.index, { index: match.index, line }),
        });
    }
  }
  return found;
}

/** Top-level imports, mapped to the package that provides them where the names differ. */
const IMPORT_PACKAGES: Record<string, string> = { sklearn: 'scikit-learn', cv2: 'opencv-python', PIL: 'pillow' };

function fromImports(file: WorkspaceFile): PackageRef[] {
  const found: PackageRef[] = [];
  for (const { match, line } of matchesWithLines(
    file.text,
    /^\s*(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import|import\s+([A-Za-z_]\w*))/m,
  )) {
    const module = (match[1] ?? match[2])!;
    found.push({ name: normalizePackage(IMPORT_PACKAGES[module] ?? module), file: file.path, line });
  }
  return found;
}

export function declaredPackages(files: readonly WorkspaceFile[]): { packages: PackageRef[]; fromImports: boolean } {
  const packages: PackageRef[] = [];
  // At most MAX_REFS a file: a generated 1 MiB list is not a thousand findings.
  const add = (refs: readonly PackageRef[]) => {
    for (const ref of refs.slice(0, MAX_REFS)) packages.push(ref);
  };
  for (const file of files) {
    const base = file.path.split('/').pop()!;
    if (/^requirements.*\.(txt|in)$/i.test(base)) add(fromRequirementLines(file));
    else if (base === 'pyproject.toml') {
      add(fromQuotedList(file, /^\s*dependencies\s*=\s*\[/m));
      // [project.optional-dependencies] lists; not [build-system] requires, which names build tools.
      const tables = tomlTables(file.text);
      const optional = (line: number) => tables[line] === '[project.optional-dependencies]';
      add(fromQuotedList(file, /^\s*[A-Za-z0-9_-]+\s*=\s*\[/m, optional));
      add(fromTableLines(file, /^\[tool\.poetry\.(group\.[\w-]+\.)?dependencies\]$/, true));
    } else if (base === 'setup.py') add(fromQuotedList(file, /install_requires\s*=\s*\[/));
    else if (base === 'setup.cfg') add(fromTableLines(file, /^install_requires\s*=/, false));
    else if (/^environment.*\.ya?ml$/.test(base)) add(fromEnvironmentYml(file));
    else if (/^(Dockerfile|Containerfile)/.test(base) || base.endsWith('.dockerfile') || base.endsWith('.sh'))
      add(fromPipInstall(file));
  }
  if (packages.length) return { packages: dedupe(packages), fromImports: false };
  return { packages: dedupe(files.filter((f) => f.path.endsWith('.py')).flatMap(fromImports)), fromImports: true };
}

function fromEnvironmentYml(file: WorkspaceFile): PackageRef[] {
  return file.text.split('\n').flatMap((raw, i) => {
    const item = /^\s*-\s+(?:pip:\s*)?([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(raw.replace(/#.*/, ''));
    const name = item ? normalizePackage(item[1]!.split('=')[0]!) : undefined;
    return name && name !== 'pip' && name !== 'python' ? [{ name, file: file.path, line: i + 1 }] : [];
  });
}

function dedupe(refs: PackageRef[]): PackageRef[] {
  const seen = new Map<string, PackageRef>();
  for (const ref of refs) if (!seen.has(ref.name)) seen.set(ref.name, ref);
  return [...seen.values()];
}
