/**
 * The shape of lib/, checked on the sources: no file over 500 lines, no
 * import cycle (type-only imports included), and folders that import only
 * from layers below their own (a folder's index.ts is a facade for a
 * subpath export and may gather from anywhere below the root).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..');
const lib = path.join(root, 'lib');

/** Layer of each folder of lib/ (files directly in lib/ are layer 0); a folder imports only lower layers and itself. */
const LAYERS: Record<string, number> = {
  '.': 0, // errors.ts, native.ts (the only file that loads the addon)
  util: 1,
  codecs: 2,
  control: 2,
  rtp: 3,
  sdp: 4,
  graph: 4,
  media: 5,
  forward: 5,
  quality: 6,
  tools: 6,
  streams: 6,
  gateway: 7,
  leg: 8,
  ivr: 9,
  session: 9,
  daemon: 10,
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file (import/export ... from, import('...') types), resolved to files. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']+)'/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
    if (found) out.push(found);
  }
  return out;
}

const folderOf = (file: string) => {
  const rel = path.relative(lib, path.dirname(file));
  return rel === '' ? '.' : rel.split(path.sep)[0];
};

describe('lib/ architecture', () => {
  const files = sources(lib);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));

  it('no source file over 500 lines', () => {
    const long = files
      .map((f) => ({ f: path.relative(root, f), n: fs.readFileSync(f, 'utf8').split('\n').length }))
      .filter((x) => x.n > 500);
    assert.deepEqual(long, []);
  });

  it('no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map((x) => path.relative(lib, x)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) visit(g, [...stack, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    assert.deepEqual(cycles, []);
  });

  it('every folder is in a layer, and imports only from lower layers or itself', () => {
    const bad: string[] = [];
    for (const f of files) {
      const from = folderOf(f);
      assert.ok(from in LAYERS, `lib/${from} is in no layer (add it to LAYERS)`);
      if (path.basename(f) === 'index.ts' && from !== '.') continue; // a subpath facade
      if (f === path.join(lib, 'index.ts')) continue; // the root facade
      for (const g of graph.get(f)!) {
        const to = folderOf(g);
        if (to !== from && LAYERS[to] >= LAYERS[from])
          bad.push(
            `${path.relative(lib, f)} (${from}, layer ${LAYERS[from]}) imports ${path.relative(lib, g)} (${to}, layer ${LAYERS[to]})`,
          );
      }
    }
    assert.deepEqual(bad, []);
  });
});
