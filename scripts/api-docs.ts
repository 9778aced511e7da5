/**
 * The API reference, docs/api/, made by TypeDoc (with typedoc-plugin-markdown)
 * from what lib/index.ts exports and its doc comments; options in
 * typedoc.json.
 *
 *   npm run docs:api                      writes docs/api/
 *   npm run docs:api -- --check           exits 1 when docs/api/ is not what the code makes
 *   npm run docs:api -- --undocumented    lists exported members without a doc comment
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(__dirname, '..', '..');
const target = path.join(root, 'docs', 'api');

/** Runs the TypeDoc CLI (TypeDoc is an ES module; its CLI keeps this script CommonJS). */
function generate(out: string, extra: string[] = []): boolean {
  const cli = path.join(path.dirname(require.resolve('typedoc/package.json', { paths: [root] })), 'bin', 'typedoc');
  const r = spawnSync(process.execPath, [cli, '--options', path.join(root, 'typedoc.json'), '--out', out, ...extra], {
    cwd: root,
    stdio: 'inherit',
  });
  return r.status === 0;
}

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p, 'utf8'));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

function main(): number {
  const args = process.argv.slice(2);
  if (args.includes('--undocumented')) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-api-'));
    generate(tmp, ['--validation.notDocumented', '--validation.notExported', 'false', '--logLevel', 'Warn']);
    fs.rmSync(tmp, { recursive: true, force: true });
    return 0;
  }
  if (args.includes('--check')) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-api-'));
    try {
      if (!generate(tmp)) return 1;
      const want = files(tmp);
      const have = files(target);
      const stale = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f));
      if (stale.length) {
        process.stderr.write(`docs/api is out of date (${stale.join(', ')}): run npm run docs:api\n`);
        return 1;
      }
      process.stdout.write(`docs/api is up to date (${want.size} files)\n`);
      return 0;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  fs.rmSync(target, { recursive: true, force: true });
  return generate(target) ? 0 : 1;
}

process.exitCode = main();
