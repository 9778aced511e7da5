/**
 * The JSON config file, checked by ajv against a JSON Schema made from the
 * option table: nested objects by key (`{"control": {"udp": ...}}`) or dotted
 * keys (`{"quality.sampleMs": 500}`), nothing else. The schema is exported
 * for editors and other tools (configJsonSchema). When ajv refuses a value,
 * the option's own set() is asked for the message, so a bad value reads the
 * same from the file, the environment and the command line.
 */
import type * as AjvModule from 'ajv';
import type { ErrorObject } from 'ajv';
import { ConfigError, OPTIONS, type DaemonConfig, type OptionSpec } from './options';

type Schema = Record<string, unknown>;

/** The config file's JSON Schema (draft 2020-12 keywords that draft-07 validators read too). */
export function configJsonSchema(): Schema {
  const root: Schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'rtp-media-server configuration',
    type: 'object',
    additionalProperties: false,
    properties: { $schema: { type: 'string' } } as Record<string, Schema>,
  };
  for (const o of OPTIONS) {
    const leaf = { description: o.help, ...o.schema };
    (root.properties as Record<string, Schema>)[o.key] = leaf;
    const parts = o.key.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      const props = node.properties as Record<string, Schema>;
      props[p] ??= { type: 'object', additionalProperties: false, properties: {} };
      node = props[p];
    }
    if (parts.length > 1) (node.properties as Record<string, Schema>)[parts[parts.length - 1]] = leaf;
  }
  return root;
}

let check: ReturnType<AjvModule.default['compile']> | undefined;

const byKey = () => new Map(OPTIONS.map((o) => [o.key, o]));

function keyOf(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function valueAt(obj: unknown, pointer: string): unknown {
  let v = obj;
  for (const p of pointer.split('/').slice(1))
    v = (v as Record<string, unknown>)?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  return v;
}

/** One message for the first ajv error, in the words of the option's set(). */
function explain(errors: ErrorObject[], obj: unknown, file: string): ConfigError {
  const specs = byKey();
  const known = OPTIONS.map((s) => s.key).join(', ');
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) {
    const parent = keyOf(unknown.instancePath);
    const prop = (unknown.params as { additionalProperty: string }).additionalProperty;
    return new ConfigError(
      `${file}: unknown option ${JSON.stringify(parent ? `${parent}.${prop}` : prop)} (known: ${known})`,
    );
  }
  // the deepest path that is an option: anyOf reports its branches' paths too
  for (const e of errors) {
    let path = e.instancePath;
    let spec: OptionSpec | undefined;
    while (path && !(spec = specs.get(keyOf(path)))) path = path.slice(0, path.lastIndexOf('/'));
    if (!spec) {
      if (e.instancePath && e.keyword === 'type')
        return new ConfigError(`${file}: ${keyOf(e.instancePath)}: expected an object of options`);
      continue;
    }
    try {
      spec.set({ control: {}, media: {}, quality: {} } as DaemonConfig, valueAt(obj, path), `${file}: ${spec.key}`);
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    return new ConfigError(
      `${file}: ${spec.key}: ${e.message ?? 'not valid'}, got ${JSON.stringify(valueAt(obj, path))}`,
    );
  }
  return new ConfigError(`${file}: ${errors[0]?.message ?? 'not a valid configuration'}`);
}

/** Checks a parsed config file and applies it to `c` (nested or dotted keys; unknown keys refused). */
export function applyFile(c: DaemonConfig, obj: unknown, file: string): void {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(`${file}: expected a JSON object`);
  // loaded only when there is a config file (a restarted daemon's first media waits for every module loaded before)
  const Ajv = (require('ajv') as typeof AjvModule).default;
  check ??= new Ajv({ allErrors: true, strict: false }).compile(configJsonSchema());
  if (!check(obj)) throw explain(check.errors ?? [], obj, file);
  const specs = byKey();
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      const spec = specs.get(key);
      if (spec) spec.set(c, v, `${file}: ${key}`);
      else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, key);
    }
  };
  const { $schema: _ignored, ...rest } = obj as Record<string, unknown>;
  void _ignored;
  walk(rest, '');
}
