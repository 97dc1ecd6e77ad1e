// What the source says about settings and context keys, read from its syntax tree (TypeScript's
// parser, no type information): every `gpuDev` setting it reads, every context key it sets, every
// tree item contextValue it gives. The host tier compares these with package.json as VS Code loaded it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export interface SourceFacts {
  /** Setting keys under `gpuDev.` that the code reads (get, inspect, has, update, affectsConfiguration), with where. */
  readonly settings: Map<string, string[]>;
  /** Reads whose key is not a string literal nor a parameter of a reader function: the scan cannot tell them. */
  readonly unresolved: string[];
  /** Context keys set with `executeCommand('setContext', key, …)`. */
  readonly contextKeys: Set<string>;
  /** Tree item contextValues: literal ones, and the fixed start of template ones (`reservation.${state}` → `reservation.`). */
  readonly contextValues: { readonly exact: Set<string>; readonly prefixes: Set<string> };
}

const CONFIG_METHODS = new Set(['get', 'inspect', 'has', 'update']);
const SECTION = 'gpuDev';

export function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

const literal = (node: ts.Node | undefined): string | undefined =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;

const calleeName = (call: ts.CallExpression): string | undefined =>
  ts.isIdentifier(call.expression)
    ? call.expression.text
    : ts.isPropertyAccessExpression(call.expression)
      ? call.expression.name.text
      : undefined;

interface Reader {
  readonly name: string;
  readonly index: number;
  /** The function declaration or variable declarator that names it. */
  readonly declaration: ts.Node;
}

/** The enclosing function that has `name` among its parameters, and the name it is called by. */
function readerFunction(node: ts.Node, name: string): Reader | undefined {
  for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
    if (!ts.isFunctionLike(at)) continue;
    const index = at.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === name);
    if (index < 0) continue;
    const named = ts.isFunctionDeclaration(at) || ts.isMethodDeclaration(at) ? at.name : undefined;
    const declarator = ts.isVariableDeclaration(at.parent) ? at.parent : undefined;
    const id = named ?? declarator?.name;
    return id && ts.isIdentifier(id) ? { name: id.text, index, declaration: declarator ?? at } : undefined;
  }
  return undefined;
}

/** What `name` refers to where `node` stands: the nearest declaration of it in an enclosing block, function or file. */
function declarationOf(node: ts.Node, name: string): ts.Node | undefined {
  const declares = (statement: ts.Statement): ts.Node | undefined => {
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === name) return statement;
    if (ts.isVariableStatement(statement))
      return statement.declarationList.declarations.find((d) => ts.isIdentifier(d.name) && d.name.text === name);
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const bindings = statement.importClause.namedBindings;
      const named = bindings && ts.isNamedImports(bindings) ? bindings.elements : [];
      return named.find((element) => element.name.text === name);
    }
    return undefined;
  };
  for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
    if (ts.isBlock(at) || ts.isSourceFile(at)) {
      const found = at.statements.map(declares).find((d) => d !== undefined);
      if (found) return found;
    }
    if (ts.isFunctionLike(at)) {
      const parameter = at.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === name);
      if (parameter) return parameter;
    }
  }
  return undefined;
}

/** Whether a call by the reader's name calls the reader: not when a different local declaration of that name is in scope. */
function callsReader(call: ts.CallExpression, reader: Reader): boolean {
  if (!ts.isIdentifier(call.expression)) return true;
  const declaration = declarationOf(call, reader.name);
  return declaration === undefined || declaration === reader.declaration || ts.isImportSpecifier(declaration);
}

/**
 * Scans sources for the facts above. Reads through a reader function (`percent('monitor.warnPercent')`,
 * `machineSetting('hosts')`: a function passing its parameter on as the key) count at each call site.
 */
export function scanSources(files: ReadonlyArray<{ file: string; text: string }>): SourceFacts {
  const facts: SourceFacts = {
    settings: new Map(),
    unresolved: [],
    contextKeys: new Set(),
    contextValues: { exact: new Set(), prefixes: new Set() },
  };
  const sources = files.map(({ file, text }) => ({
    file,
    source: ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true),
  }));
  const where = (node: ts.Node) => {
    const source = node.getSourceFile();
    return `${source.fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const addSetting = (full: string, node: ts.Node) => {
    if (!full.startsWith(`${SECTION}.`)) return;
    const key = full.slice(SECTION.length + 1);
    facts.settings.set(key, [...(facts.settings.get(key) ?? []), where(node)]);
  };
  // Reader functions: name → [parameter index, section prefix]; found in one pass, used in the next ones.
  const readers = new Map<string, Reader & { section: string }>();
  /** A key argument: a literal (a read), a parameter (its function becomes a reader), or neither (unresolved). */
  const keyArgument = (arg: ts.Expression | undefined, section: string, at: ts.Node): boolean => {
    const key = literal(arg);
    if (key !== undefined) return (addSetting(section ? `${section}.${key}` : key, at), false);
    const reader = arg && ts.isIdentifier(arg) ? readerFunction(at, arg.text) : undefined;
    if (reader && !readers.has(reader.name)) return (readers.set(reader.name, { ...reader, section }), true);
    if (!reader) facts.unresolved.push(`${where(at)}: ${at.getText().slice(0, 80)}`);
    return false;
  };

  for (const { source } of sources) {
    // Variables holding a configuration: `const config = vscode.workspace.getConfiguration('gpuDev')`.
    const configVariables = new Map<string, string>();
    const sectionOf = (expression: ts.Expression): string | undefined => {
      if (ts.isIdentifier(expression)) return configVariables.get(expression.text);
      if (ts.isCallExpression(expression) && calleeName(expression) === 'getConfiguration') {
        return literal(expression.arguments[0]) ?? '';
      }
      return undefined;
    };
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        const section = sectionOf(node.initializer);
        if (section !== undefined) configVariables.set(node.name.text, section);
        else configVariables.delete(node.name.text);
      }
      if (ts.isCallExpression(node)) {
        const name = calleeName(node);
        const receiver = ts.isPropertyAccessExpression(node.expression) ? node.expression.expression : undefined;
        const section = receiver && name && CONFIG_METHODS.has(name) ? sectionOf(receiver) : undefined;
        if (section !== undefined) keyArgument(node.arguments[0], section, node);
        if (name === 'affectsConfiguration') {
          const key = literal(node.arguments[0]);
          if (key !== undefined && key !== SECTION) addSetting(key, node);
        }
        if (name === 'executeCommand' && literal(node.arguments[0]) === 'setContext') {
          const key = literal(node.arguments[1]);
          if (key !== undefined) facts.contextKeys.add(key);
          else facts.unresolved.push(`${where(node)}: setContext with a computed key`);
        }
      }
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
        const target = node.left;
        if (ts.isPropertyAccessExpression(target) && target.name.text === 'contextValue') collectValues(node.right);
      }
      if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'contextValue') {
        collectValues(node.initializer);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  // Calls of reader functions, until no new reader appears (a reader may pass its key on to another).
  const seen = new Set<ts.Node>();
  for (let grew = true; grew;) {
    grew = false;
    const known = new Map(readers);
    for (const { source } of sources) {
      const visit = (node: ts.Node): void => {
        const reader = ts.isCallExpression(node) ? known.get(calleeName(node) ?? '') : undefined;
        if (reader && ts.isCallExpression(node) && !seen.has(node) && callsReader(node, reader)) {
          seen.add(node);
          grew = keyArgument(node.arguments[reader.index], reader.section, node) || grew;
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return facts;

  /** A contextValue: a literal, a template (its fixed start), or a choice between those. */
  function collectValues(expression: ts.Expression): void {
    const value = literal(expression);
    if (value !== undefined) facts.contextValues.exact.add(value);
    else if (ts.isTemplateExpression(expression)) facts.contextValues.prefixes.add(expression.head.text);
    else if (ts.isParenthesizedExpression(expression)) collectValues(expression.expression);
    else if (ts.isConditionalExpression(expression)) [expression.whenTrue, expression.whenFalse].forEach(collectValues);
    else facts.unresolved.push(`${where(expression)}: contextValue ${expression.getText().slice(0, 60)}`);
  }
}

/** Scans every .ts file under `dir`, named relative to `root`. */
export function scanFolder(root: string, dir: string): SourceFacts {
  const files = sourceFiles(path.join(root, dir)).map((file) => ({
    file: path.relative(root, file),
    text: fs.readFileSync(file, 'utf8'),
  }));
  return scanSources(files);
}
