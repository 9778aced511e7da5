/**
 * The daemon is a client of the public API like any application: its
 * sources (lib/daemon) must type-check against the PUBLISHED declarations of
 * everything else (dist/lib, with @internal members stripped), so that it
 * reaches into no internal of a session, a leg, a bridge or an endpoint.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');
const lib = path.join(root, 'lib');
const dist = path.join(root, 'dist', 'lib');

describe('the daemon uses only the public API', () => {
  it('lib/daemon compiles against the published declarations of the rest of lib/', () => {
    const daemonDir = path.join(lib, 'daemon');
    const files = fs
      .readdirSync(daemonDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(daemonDir, f));
    // a source of lib/ outside lib/daemon is seen as its .d.ts in dist/lib
    const published = (f: string): string | undefined => {
      const rel = path.relative(lib, f);
      if (rel.startsWith('..') || rel.startsWith(`daemon${path.sep}`) || !rel.endsWith('.ts') || rel.endsWith('.d.ts'))
        return undefined;
      return path.join(dist, rel.replace(/\.ts$/, '.d.ts'));
    };
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      esModuleInterop: true,
    };
    const host = ts.createCompilerHost(options, true);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (f) => {
      const abs = path.resolve(f);
      if (published(abs)) return false; // the source is hidden: resolution falls to the .d.ts
      const rel = path.relative(lib, abs);
      if (!rel.startsWith('..') && !rel.startsWith(`daemon${path.sep}`) && abs.endsWith('.d.ts'))
        return fs.existsSync(path.join(dist, rel));
      return fileExists(f);
    };
    const readFile = host.readFile.bind(host);
    const mapped = (f: string) => {
      const rel = path.relative(lib, path.resolve(f));
      return !rel.startsWith('..') && f.endsWith('.d.ts') ? path.join(dist, rel) : f;
    };
    host.readFile = (f) => readFile(mapped(f));
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (f, lang, onError, create) => {
      const m = mapped(f);
      if (m !== f) {
        const text = fs.readFileSync(m, 'utf8');
        return ts.createSourceFile(f, text, lang, true);
      }
      return getSourceFile(f, lang, onError, create);
    };
    const program = ts.createProgram({ rootNames: files, options, host });
    const diags = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && path.resolve(d.file.fileName).startsWith(daemonDir));
    const text = diags.map((d) => {
      const where = d.file
        ? `${path.relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start!).line + 1}`
        : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    assert.deepEqual(text, []);
    // and it really read the published declarations, not the sources
    const seen = program.getSourceFiles().map((s) => path.relative(lib, s.fileName));
    assert.ok(
      seen.includes(path.join('leg', 'MediaLeg.d.ts')),
      `leg/MediaLeg.d.ts was read: ${seen.filter((s) => !s.startsWith('..')).join(' ')}`,
    );
  });
});
