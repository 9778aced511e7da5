/**
 * Declarative IVR flows: a menu described as data (JSON), validated against
 * one schema (FLOW_NODE_TYPES below, also exported as JSON Schema), then run
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
const DIGITS = /^[0-9*#A-D]+$/;
const BRANCH_KEY = /^[0-9*#A-D]{1,128}$/;

/** A short, safe rendering of any value for an error message (no JSON.stringify: cycles, getters). */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'an object';
}

const ptr = (...parts: string[]) => '/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Checks a parsed document against the schema; returns it typed or throws FlowError. */
export function validateFlow(doc: unknown): Flow {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new FlowError('a flow is a JSON object', '');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!['start', 'nodes', 'description', '$schema'].includes(k)) throw new FlowError(`unknown key "${k}"`, ptr(k));
  if (!d.nodes || typeof d.nodes !== 'object' || Array.isArray(d.nodes))
    throw new FlowError('"nodes" must be an object of node id -> node', ptr('nodes'));
  const nodes = d.nodes as Record<string, unknown>;
  const ids = Object.keys(nodes);
  if (!ids.length) throw new FlowError('a flow needs at least one node', ptr('nodes'));
  if (typeof d.start !== 'string') throw new FlowError('"start" must name a node', ptr('start'));
  if (!(d.start in nodes)) throw new FlowError(`unknown node "${d.start}"`, ptr('start'));
  if (d.description !== undefined && typeof d.description !== 'string')
    throw new FlowError('must be a string', ptr('description'));
  for (const id of ids) {
    const at = ptr('nodes', id);
    if (!ID.test(id)) throw new FlowError('node ids are 1-64 of A-Z a-z 0-9 _ . -', at);
    const n = nodes[id];
    if (!n || typeof n !== 'object' || Array.isArray(n)) throw new FlowError('a node is an object', at);
    const node = n as Record<string, unknown>;
    const spec = FLOW_NODE_TYPES[node.type as string];
    if (typeof node.type !== 'string' || !spec || !Object.hasOwn(FLOW_NODE_TYPES, node.type))
      throw new FlowError(
        `"type" must be one of ${Object.keys(FLOW_NODE_TYPES).join(', ')} (got ${describe(node.type)})`,
        ptr('nodes', id, 'type'),
      );
    for (const k of Object.keys(node)) {
      if (k === 'type') continue;
      const f = spec.fields[k];
      if (!f || !Object.hasOwn(spec.fields, k))
        throw new FlowError(`"${k}" is not a field of a ${node.type} node`, ptr('nodes', id, k));
      checkField(node[k], f, ptr('nodes', id, k), nodes);
    }
    for (const [k, f] of Object.entries(spec.fields))
      if (f.required && node[k] === undefined)
        throw new FlowError(`a ${node.type} node needs "${k}" (${f.description})`, at);
    if (node.type === 'collect') {
      const min = (node.min as number | undefined) ?? 1;
      const max = (node.max as number | undefined) ?? 1;
      if (min > max) throw new FlowError(`min ${min} is more than max ${max}`, ptr('nodes', id, 'min'));
      if (!node.branches && !node.next && !node.noMatch)
        throw new FlowError('a collect node needs branches, next or noMatch', at);
    }
  }
  return d as unknown as Flow;
}

function checkField(v: unknown, f: FieldSpec, at: string, nodes: Record<string, unknown>): void {
  const fail = (why: string) => {
    throw new FlowError(why, at);
  };
  switch (f.kind) {
    case 'string':
      if (typeof v !== 'string' || v === '' || v.length > 1024) fail('must be a non-empty string');
      break;
    case 'files':
      if (typeof v === 'string') {
        if (v === '') fail('must be a file name or a list of them');
      } else if (!Array.isArray(v) || !v.length || v.length > 100) {
        fail('must be a file name or a list of 1-100 of them');
      } else {
        v.forEach((x, i) => {
          if (typeof x !== 'string' || x === '') throw new FlowError('must be a file name', `${at}/${i}`);
        });
      }
      break;
    case 'digits':
      if (typeof v !== 'string' || !DIGITS.test(v) || v.length > 64) fail('must be DTMF digits (0-9 * # A-D)');
      break;
    case 'dtmf-keys':
      if (typeof v !== 'string' || !DIGITS.test(v) || v.length > 16) fail('must be DTMF digits (0-9 * # A-D)');
      break;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) fail('must be an integer');
      if (f.min !== undefined && (v as number) < f.min) fail(`must be at least ${f.min}`);
      if (f.max !== undefined && (v as number) > f.max) fail(`must be at most ${f.max}`);
      break;
    case 'bool':
      if (typeof v !== 'boolean') fail('must be true or false');
      break;
    case 'node':
      if (typeof v !== 'string') fail('must name a node');
      if (!Object.hasOwn(nodes, v as string)) fail(`unknown node "${v as string}"`);
      break;
    case 'branches':
      if (!v || typeof v !== 'object' || Array.isArray(v)) fail('must be an object of digits -> node');
      for (const [k, target] of Object.entries(v as object)) {
        const bat = `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (!BRANCH_KEY.test(k)) throw new FlowError('branch keys are DTMF digits (0-9 * # A-D)', bat);
        if (typeof target !== 'string') throw new FlowError('must name a node', bat);
        if (!Object.hasOwn(nodes, target)) throw new FlowError(`unknown node "${target}"`, bat);
      }
      break;
  }
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

/** The schema as JSON Schema (draft 2020-12), for editors and other validators. */
export function flowJsonSchema(): object {
  const field = (f: FieldSpec): object => {
    const base = { description: f.description };
    switch (f.kind) {
      case 'string':
        return { ...base, type: 'string', minLength: 1 };
      case 'files':
        return {
          ...base,
          oneOf: [
            { type: 'string', minLength: 1 },
            { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          ],
        };
      case 'digits':
      case 'dtmf-keys':
        return { ...base, type: 'string', pattern: '^[0-9*#A-D]+$' };
      case 'int':
        return { ...base, type: 'integer', minimum: f.min, maximum: f.max };
      case 'bool':
        return { ...base, type: 'boolean' };
      case 'node':
        return { ...base, type: 'string' };
      case 'branches':
        return {
          ...base,
          type: 'object',
          propertyNames: { pattern: '^[0-9*#A-D]{1,128}$' },
          additionalProperties: { type: 'string' },
        };
    }
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'rtp-media-server IVR flow',
    type: 'object',
    required: ['start', 'nodes'],
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      description: { type: 'string' },
      start: { type: 'string' },
      nodes: {
        type: 'object',
        propertyNames: { pattern: ID.source },
        additionalProperties: {
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
              ...Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, field(f)])),
            },
          })),
        },
      },
    },
  };
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
