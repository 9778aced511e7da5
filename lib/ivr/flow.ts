/**
 * Declarative IVR flows: a menu described as data (JSON), validated by ajv
 * against one JSON Schema (made from FLOW_NODE_TYPES below, exported by
 * flowJsonSchema), plus the node references no schema can check, then run
 * on a MediaLeg. Every validation error is a FlowError carrying the JSON
 * pointer of the bad node, e.g. `/nodes/menu/branches/1: unknown node "recrod"`.
 *
 *   {
 *     "start": "menu",
 *     "nodes": {
 *       "menu":    { "type": "collect", "prompt": "menu.wav", "max": 1,
 *                    "branches": { "1": "message", "2": "sales" },
 *                    "noMatch": "menu", "onTimeout": "bye", "maxVisits": 3 },
 *       "message": { "type": "record", "file": "msg-${callId}.wav",
 *                    "silenceTimeoutMs": 2000, "stopDigits": "#", "next": "bye" },
 *       "sales":   { "type": "transfer", "target": "sales", "next": "bye" },
 *       "bye":     { "type": "play", "files": "bye.wav", "next": "end" },
 *       "end":     { "type": "hangup" }
 *     }
 *   }
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type * as Ajv2020 from 'ajv/dist/2020';
import * as fs from 'node:fs';
import { FlowError, InvalidArgumentError } from '../errors';
import type { MediaLeg } from '../leg/MediaLeg';
import type { CollectResult, RecordResult } from '../leg/types';

type FieldKind = 'string' | 'files' | 'digits' | 'dtmf-keys' | 'int' | 'bool' | 'node' | 'branches';

interface FieldSpec {
  kind: FieldKind;
  required?: boolean;
  min?: number;
  max?: number;
  description: string;
}

/** The schema: node types and their fields. */
export const FLOW_NODE_TYPES: Record<string, { description: string; fields: Record<string, FieldSpec> }> = {
  play: {
    description: 'Play one file or a list, then go to next.',
    fields: {
      files: { kind: 'files', required: true, description: 'A WAV file or a list, inside the media roots' },
      bargeIn: { kind: 'bool', description: 'A digit stops the prompt (kept for the next collect)' },
      next: { kind: 'node', required: true, description: 'Node after the prompt' },
    },
  },
  collect: {
    description: 'Collect digits (optionally after a prompt) and branch on them.',
    fields: {
      prompt: { kind: 'files', description: 'Played first, with barge-in' },
      min: { kind: 'int', min: 0, max: 128, description: 'Fewest digits (default 1)' },
      max: { kind: 'int', min: 1, max: 128, description: 'Most digits (default 1)' },
      timeoutMs: { kind: 'int', min: 1, max: 600000, description: 'Wait for the first digit (default 5000)' },
      interDigitTimeoutMs: { kind: 'int', min: 1, max: 600000, description: 'Wait between digits' },
      terminators: { kind: 'dtmf-keys', description: 'Digits that end the input, e.g. "#"' },
      var: { kind: 'string', description: 'Name under which the digits are kept (default: the node id)' },
      branches: { kind: 'branches', description: 'Digits collected -> node; "*" in a key matches any digit' },
      next: { kind: 'node', description: 'Node when no branch is given or matched (default noMatch)' },
      noMatch: { kind: 'node', description: 'Node when digits matched no branch' },
      onTimeout: { kind: 'node', description: 'Node when nothing (or too little) was typed' },
      maxVisits: { kind: 'int', min: 1, max: 100, description: 'Visits allowed before going to onMaxVisits' },
      onMaxVisits: { kind: 'node', description: 'Node after maxVisits (default: hang up)' },
    },
  },
  record: {
    description: 'Record the caller to a WAV, then go to next.',
    fields: {
      file: {
        kind: 'string',
        required: true,
        description: 'WAV path inside the media roots; ${callId}, ${time} and ${var} names are replaced',
      },
      maxDurationMs: { kind: 'int', min: 100, max: 3600000, description: 'Longest recording (default 60000)' },
      silenceTimeoutMs: { kind: 'int', min: 100, max: 600000, description: 'Stop after this much silence' },
      stopDigits: { kind: 'dtmf-keys', description: 'Digits that stop the recording (default "#")' },
      bothDirections: { kind: 'bool', description: 'Mix in what the caller hears' },
      next: { kind: 'node', required: true, description: 'Node after the recording' },
    },
  },
  sendDtmf: {
    description: 'Send digits to the caller.',
    fields: {
      digits: { kind: 'digits', required: true, description: 'Digits 0-9 * # A-D' },
      next: { kind: 'node', required: true, description: 'Node after sending' },
    },
  },
  pause: {
    description: 'Wait.',
    fields: {
      ms: { kind: 'int', required: true, min: 1, max: 600000, description: 'How long' },
      next: { kind: 'node', required: true, description: 'Node after the pause' },
    },
  },
  transfer: {
    description: "Hand the call to the application's transfer handler (e.g. bridge to another leg).",
    fields: {
      target: { kind: 'string', required: true, description: 'Passed to the handler' },
      next: { kind: 'node', description: 'Node when the handler returns (default: end of flow)' },
    },
  },
  hangup: {
    description: 'End the flow and ask the application to hang up.',
    fields: {},
  },
};

export interface FlowNode {
  type: keyof typeof FLOW_NODE_TYPES;
  [field: string]: unknown;
}

export interface Flow {
  start: string;
  nodes: Record<string, FlowNode>;
  description?: string;
}

const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const DIGITS = '^[0-9*#A-D]+$';
const BRANCH_KEY = '^[0-9*#A-D]{1,128}$';

/** A short, safe rendering of any value for an error message (no JSON.stringify: cycles, getters). */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'an object';
}

const ptr = (...parts: string[]) => '/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** `x-message`: what a FlowError says when a value fails the schema it annotates (ours, not a JSON Schema keyword). */
const MSG = 'x-message';

function fieldSchema(f: FieldSpec): Record<string, unknown> {
  const base = { description: f.description };
  switch (f.kind) {
    case 'string':
      return { ...base, type: 'string', minLength: 1, maxLength: 1024, [MSG]: 'must be a non-empty string' };
    case 'files':
      return {
        ...base,
        [MSG]: 'must be a file name or a list of 1-100 of them',
        anyOf: [
          { type: 'string', minLength: 1 },
          {
            type: 'array',
            minItems: 1,
            maxItems: 100,
            items: { type: 'string', minLength: 1, [MSG]: 'must be a file name' },
          },
        ],
      };
    case 'digits':
    case 'dtmf-keys':
      return {
        ...base,
        type: 'string',
        pattern: DIGITS,
        maxLength: f.kind === 'digits' ? 64 : 16,
        [MSG]: 'must be DTMF digits (0-9 * # A-D)',
      };
    case 'int':
      return { ...base, type: 'integer', minimum: f.min, maximum: f.max, [MSG]: 'must be an integer' };
    case 'bool':
      return { ...base, type: 'boolean', [MSG]: 'must be true or false' };
    case 'node':
      return { ...base, type: 'string', [MSG]: 'must name a node' };
    case 'branches':
      return {
        ...base,
        type: 'object',
        [MSG]: 'must be an object of digits -> node',
        propertyNames: { pattern: BRANCH_KEY, [MSG]: 'branch keys are DTMF digits (0-9 * # A-D)' },
        additionalProperties: { type: 'string', [MSG]: 'must name a node' },
      };
  }
}

/** The schema as JSON Schema (draft 2020-12), for editors and other validators; validateFlow checks with it (ajv). */
export function flowJsonSchema(): object {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'rtp-media-server IVR flow',
    type: 'object',
    required: ['start', 'nodes'],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      description: { type: 'string', [MSG]: 'must be a string' },
      start: { type: 'string', [MSG]: '"start" must name a node' },
      nodes: {
        type: 'object',
        minProperties: 1,
        [MSG]: '"nodes" must be an object of node id -> node',
        propertyNames: { pattern: ID.source, [MSG]: 'node ids are 1-64 of A-Z a-z 0-9 _ . -' },
        additionalProperties: {
          type: 'object',
          [MSG]: 'a node is an object',
          required: ['type'],
          discriminator: { propertyName: 'type' },
          oneOf: Object.entries(FLOW_NODE_TYPES).map(([type, spec]) => ({
            description: spec.description,
            type: 'object',
            additionalProperties: false,
            required: [
              'type',
              ...Object.entries(spec.fields)
                .filter(([, f]) => f.required)
                .map(([k]) => k),
            ],
            properties: {
              type: { const: type },
              ...Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, fieldSchema(f)])),
            },
          })),
        },
      },
    },
  };
}

let compiled: ValidateFunction | undefined;

/** The schema object at an ajv schemaPath ("#/properties/nodes/..."), with each ancestor on the way. */
function schemasAlong(root: unknown, schemaPath: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let node = root as Record<string, unknown> | undefined;
  for (const part of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (!node || typeof node !== 'object') break;
    out.push(node);
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')] as Record<string, unknown> | undefined;
  }
  return out;
}

/** The first schema violation as a FlowError in the words of the schema's x-message (or a field's bounds). */
function explain(e: ErrorObject, doc: Record<string, unknown>, schema: object): FlowError {
  const at = e.instancePath;
  const parts = at
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const node = parts[0] === 'nodes' && parts.length >= 2 ? (doc.nodes as Record<string, unknown>)[parts[1]] : undefined;
  const type = (node as { type?: unknown } | undefined)?.type;
  const spec = typeof type === 'string' && Object.hasOwn(FLOW_NODE_TYPES, type) ? FLOW_NODE_TYPES[type] : undefined;
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    if (at === '') return new FlowError(`unknown key "${key}"`, ptr(key));
    if (spec && parts.length === 2)
      return new FlowError(`"${key}" is not a field of a ${type as string} node`, `${at}${ptr(key)}`);
  }
  if (e.keyword === 'required') {
    const key = (e.params as { missingProperty: string }).missingProperty;
    if (at === '' && key === 'nodes')
      return new FlowError('"nodes" must be an object of node id -> node', ptr('nodes'));
    if (at === '' && key === 'start') return new FlowError('"start" must name a node', ptr('start'));
    if (spec && parts.length === 2)
      return new FlowError(`a ${type as string} node needs "${key}" (${spec.fields[key]?.description ?? key})`, at);
  }
  if (e.keyword === 'discriminator' || (e.keyword === 'required' && parts.length === 2 && parts[0] === 'nodes'))
    return new FlowError(
      `"type" must be one of ${Object.keys(FLOW_NODE_TYPES).join(', ')} (got ${describe(type)})`,
      `${at}/type`,
    );
  if (e.keyword === 'minProperties' && at === '/nodes') return new FlowError('a flow needs at least one node', at);
  if (spec && parts.length === 3 && (e.keyword === 'minimum' || e.keyword === 'maximum')) {
    const f = spec.fields[parts[2]];
    return new FlowError(e.keyword === 'minimum' ? `must be at least ${f.min}` : `must be at most ${f.max}`, at);
  }
  // a bad property name is reported at the name
  const name = (e as ErrorObject & { propertyName?: string }).propertyName;
  const where = name !== undefined ? `${at}${ptr(name)}` : at;
  const annotated = schemasAlong(schema, e.schemaPath)
    .reverse()
    .find((s) => typeof s[MSG] === 'string');
  return new FlowError((annotated?.[MSG] as string | undefined) ?? e.message ?? 'not valid', where);
}

/** Checks a parsed document against the schema (ajv), then node references; returns it typed or throws FlowError. */
export function validateFlow(doc: unknown): Flow {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new FlowError('a flow is a JSON object', '');
  const schema = flowJsonSchema();
  // ajv is loaded on the first flow checked (50 ms a process not using flows need not pay)
  const Ajv = (require('ajv/dist/2020') as typeof Ajv2020).default;
  compiled ??= new Ajv({ strict: false, discriminator: true, allErrors: false }).compile(schema);
  const d = doc as Record<string, unknown>;
  if (!compiled(d)) {
    // of the errors of an anyOf's branches, the deepest says most (a list's bad item, not "not a string")
    const depth = (e: ErrorObject) => e.instancePath.split('/').length;
    const errors = compiled.errors!;
    throw explain(
      errors.reduce((best, e) => (depth(e) > depth(best) ? e : best), errors[0]),
      d,
      schema,
    );
  }
  // what JSON Schema cannot say: references between nodes, and relations between fields
  const nodes = d.nodes as Record<string, FlowNode>;
  if (!Object.hasOwn(nodes, d.start as string))
    throw new FlowError(`unknown node "${d.start as string}"`, ptr('start'));
  for (const [id, node] of Object.entries(nodes)) {
    const spec = FLOW_NODE_TYPES[node.type];
    for (const [k, f] of Object.entries(spec.fields)) {
      const v = node[k];
      if (v === undefined) continue;
      if (f.kind === 'node' && !Object.hasOwn(nodes, v as string))
        throw new FlowError(`unknown node "${v as string}"`, ptr('nodes', id, k));
      if (f.kind === 'branches')
        for (const [key, target] of Object.entries(v as Record<string, string>))
          if (!Object.hasOwn(nodes, target)) throw new FlowError(`unknown node "${target}"`, ptr('nodes', id, k, key));
    }
    if (node.type === 'collect') {
      const min = (node.min as number | undefined) ?? 1;
      const max = (node.max as number | undefined) ?? 1;
      if (min > max) throw new FlowError(`min ${min} is more than max ${max}`, ptr('nodes', id, 'min'));
      if (!node.branches && !node.next && !node.noMatch)
        throw new FlowError('a collect node needs branches, next or noMatch', ptr('nodes', id));
    }
  }
  return d as unknown as Flow;
}

/** Reads, parses and validates a flow file; syntax errors are FlowErrors too. */
export function loadFlow(file: string): Flow {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlowError(`cannot read flow file ${file}: ${(err as Error).message}`, '');
  }
  if (text.length > 1_000_000) throw new FlowError(`flow file ${file} is larger than 1 MB`, '');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new FlowError(`${file} is not valid JSON: ${(err as Error).message}`, '');
  }
  return validateFlow(doc);
}

// ---------------------------------------------------------------------------
// running

export interface FlowHandlers {
  /** Called by transfer nodes; the flow goes on to `next` when it resolves. */
  transfer?: (target: string, leg: MediaLeg) => Promise<void> | void;
  /** Called by hangup nodes (and at the end of the flow), e.g. to send BYE. */
  hangup?: (leg: MediaLeg) => Promise<void> | void;
}

export interface FlowRunOptions extends FlowHandlers {
  /** Values for ${name} in file names (callId is the usual one). */
  vars?: Record<string, string>;
  /** Nodes run before the flow is stopped (default 1000): a guard against loops in the data. */
  maxSteps?: number;
  /** Visit log callback. */
  onNode?: (id: string, node: FlowNode) => void;
}

export interface FlowResult {
  reason: 'hangup' | 'end' | 'closed' | 'moved' | 'step-limit';
  /** Node ids in the order they ran. */
  path: string[];
  /** Digits collected, by var name. */
  vars: Record<string, string>;
  recordings: RecordResult[];
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new InvalidArgumentError(`flow variable \${${k}} has no value`);
    // values become file name parts: no separators, no traversal
    return v.replace(/[^A-Za-z0-9_.@+-]/g, '_').replace(/^\.+/, '_');
  });
}

function matchBranch(branches: Record<string, string>, digits: string): string | undefined {
  if (Object.hasOwn(branches, digits)) return branches[digits];
  for (const [k, v] of Object.entries(branches)) {
    if (k.length !== digits.length || !k.includes('*')) continue;
    let ok = true;
    for (let i = 0; i < k.length && ok; i++) ok = k[i] === '*' || k[i] === digits[i];
    if (ok) return v;
  }
  return undefined;
}

/** Runs a validated flow (or validates it first) on `leg` until hangup, the end, or the leg moving or closing. */
export async function runFlow(leg: MediaLeg, flowDoc: Flow | unknown, opts: FlowRunOptions = {}): Promise<FlowResult> {
  const flow = validateFlow(flowDoc);
  const maxSteps = opts.maxSteps ?? 1000;
  const vars: Record<string, string> = { ...opts.vars };
  const visits = new Map<string, number>();
  const result: FlowResult = { reason: 'end', path: [], vars: {}, recordings: [] };
  let id: string | undefined = flow.start;
  const gone = () => leg.closed || leg.mode !== 'alone';
  while (id !== undefined) {
    if (leg.closed) {
      result.reason = 'closed';
      break;
    }
    if (result.path.length >= maxSteps) {
      result.reason = 'step-limit';
      break;
    }
    const node: FlowNode = flow.nodes[id];
    result.path.push(id);
    visits.set(id, (visits.get(id) ?? 0) + 1);
    opts.onNode?.(id, node);
    const next = node.next as string | undefined;
    switch (node.type) {
      case 'play': {
        const r = await leg.play(node.files as string | string[], { bargeIn: (node.bargeIn as boolean) ?? false });
        id = r.reason === 'closed' || r.reason === 'moved' ? undefined : next;
        break;
      }
      case 'collect': {
        if (node.maxVisits !== undefined && visits.get(id)! > (node.maxVisits as number)) {
          id = node.onMaxVisits as string | undefined;
          if (id === undefined) {
            await opts.hangup?.(leg);
            result.reason = 'hangup';
          }
          break;
        }
        const r: CollectResult = await leg.collect({
          prompt: node.prompt as string | string[] | undefined,
          min: (node.min as number | undefined) ?? 1,
          max: (node.max as number | undefined) ?? 1,
          timeoutMs: node.timeoutMs as number | undefined,
          interDigitTimeoutMs: node.interDigitTimeoutMs as number | undefined,
          terminators: node.terminators as string | undefined,
        });
        if (r.reason === 'closed' || r.reason === 'moved') {
          id = undefined;
          break;
        }
        vars[(node.var as string | undefined) ?? id] = r.digits;
        result.vars[(node.var as string | undefined) ?? id] = r.digits;
        if (r.tooFew) {
          id = (node.onTimeout as string | undefined) ?? (node.noMatch as string | undefined) ?? next;
          break;
        }
        const branch = node.branches ? matchBranch(node.branches as Record<string, string>, r.digits) : undefined;
        id = branch ?? (node.noMatch as string | undefined) ?? next;
        break;
      }
      case 'record': {
        const file = fill(node.file as string, { time: String(Date.now()), ...vars });
        const r = await leg.record(file, {
          maxDurationMs: (node.maxDurationMs as number | undefined) ?? 60000,
          silenceTimeoutMs: node.silenceTimeoutMs as number | undefined,
          stopDigits: (node.stopDigits as string | undefined) ?? '#',
          bothDirections: node.bothDirections as boolean | undefined,
        });
        result.recordings.push(r);
        id = r.reason === 'closed' || r.reason === 'moved' ? undefined : next;
        break;
      }
      case 'sendDtmf':
        await leg.sendDtmf(node.digits as string);
        id = next;
        break;
      case 'pause':
        await new Promise((r) => setTimeout(r, node.ms as number));
        id = next;
        break;
      case 'transfer':
        if (!opts.transfer)
          throw new InvalidArgumentError(`flow node ${id} transfers, but no transfer handler was given`);
        await opts.transfer(node.target as string, leg);
        id = next;
        if (id !== undefined && leg.mode !== 'alone') leg.toAlone();
        break;
      case 'hangup':
        await opts.hangup?.(leg);
        result.reason = 'hangup';
        id = undefined;
        break;
    }
    if (id === undefined && result.reason === 'end' && gone()) result.reason = leg.closed ? 'closed' : 'moved';
  }
  return result;
}
