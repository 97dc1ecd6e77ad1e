// Validates a SkyPilot task as SkyPilot does (sky/utils/validator.py, Task.from_yaml_config): draft 7 plus
// its two enum keywords; `resources` (and each any_of / ordered entry) against the resources schema; envs
// coerced with str(); top-level nulls dropped; `gpus` aliased to `accelerators`; YAML 1.1 like PyYAML.
import Ajv, { type ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const dir = 'test/fixtures/skypilot';
const load = (name: string) => {
  const schema = JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // SkyPilot uses Draft7Validator whatever $schema says.
  return schema;
};

/** Python's scoped `(?i:aws|gcp)` → `(?:[aA][wW][sS]|[gG][cC][pP])`: Node 20's RegExp has no modifiers. */
export function pythonRegex(source: string): RegExp {
  const rewritten = source.replace(/\(\?i:((?:[^()\\]|\\.|\([^()]*\))*)\)/g, (_, body: string) => {
    const letters = body.replace(/\\.|[A-Za-z]/g, (c) =>
      c.length === 1 ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c,
    );
    return `(?:${letters})`;
  });
  return new RegExp(rewritten, 'u');
}

const ajv = new Ajv({
  strict: false,
  allErrors: true,
  code: { regExp: Object.assign((pattern: string) => pythonRegex(pattern), { code: 'pythonRegex' }) },
});
for (const keyword of ['case_insensitive_enum', 'case_sensitive_enum']) {
  const insensitive = keyword === 'case_insensitive_enum';
  ajv.addKeyword({
    keyword,
    schemaType: 'array',
    validate: (enums: string[], data: unknown) =>
      typeof data !== 'string' ||
      (insensitive ? enums.map((e) => e.toLowerCase()).includes(data.toLowerCase()) : enums.includes(data)),
  });
}
const validateTask = ajv.compile(load('task.schema.json'));
const validateResources = ajv.compile(load('resources.schema.json'));

const describe = (where: string, errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${where}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);

const aliased = (resources: Record<string, unknown>) => {
  const { gpus, ...rest } = resources;
  return gpus === undefined ? rest : { ...rest, accelerators: gpus };
};

/** SkyPilot's schema errors for a task (as an object), empty when it is valid. */
export function skyPilotErrors(task: unknown): string[] {
  if (typeof task !== 'object' || task === null) return ['not a mapping'];
  const config = Object.fromEntries(Object.entries(task).filter(([, v]) => v !== null)) as Record<string, unknown>;
  for (const key of ['envs', 'secrets'])
    if (config[key] && typeof config[key] === 'object')
      config[key] = Object.fromEntries(
        Object.entries(config[key]).map(([k, v]) => [String(k), v === null ? null : pyStr(v)]),
      );
  const errors = validateTask(config) ? [] : describe('task', validateTask.errors);
  if (config.resources && typeof config.resources === 'object') {
    const resources = aliased(config.resources as Record<string, unknown>);
    for (const list of ['any_of', 'ordered'])
      if (Array.isArray(resources[list]))
        resources[list] = (resources[list] as Record<string, unknown>[]).map((r) =>
          r && typeof r === 'object' ? aliased(r) : r,
        );
    if (!validateResources(resources)) errors.push(...describe('resources', validateResources.errors));
  }
  return errors;
}

/** YAML text → errors, read like PyYAML safe_load (YAML 1.1). */
export function skyPilotYamlErrors(text: string): string[] {
  return skyPilotErrors(parse(text, { version: '1.1' }));
}

const pyStr = (v: unknown) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));
