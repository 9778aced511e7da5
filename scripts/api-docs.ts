/**
 * Generates docs/api.md from the public API: every symbol lib/index.ts
 * exports (re-exports, `export *` and `export * as ns` followed), read with
 * the TypeScript compiler API, so the reference is the code and its JSDoc and
 * cannot drift from them.
 *
 *   npm run docs:api                      writes docs/api.md
 *   npm run docs:api -- --check           exits 1 when docs/api.md is out of date
 *   npm run docs:api -- --undocumented    lists public members without a doc comment
 *
 * Members tagged `@internal`, `private`/`protected` ones and `#private` ones
 * are left out. Defaults come from a `@default` tag, else from the comment's
 * text ("(default X)", "Default: X", "'x' (default)", ", default X").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

// ---------------------------------------------------------------------------
// setup

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'lib', 'index.ts'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`api-docs: no package root above ${start}`);
  }
}

const root = findRoot(__dirname);
const entry = path.join(root, 'lib', 'index.ts');
const outFile = path.join(root, 'docs', 'api.md');

function loadProgram(): ts.Program {
  const configPath = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  return ts.createProgram({ rootNames: [entry], options: { ...parsed.options, noEmit: true } });
}

// ---------------------------------------------------------------------------
// sections

const SECTIONS: { title: string; dirs: string[]; intro: string }[] = [
  {
    title: 'Media server and sessions',
    dirs: ['session'],
    intro: 'Offer/answer per Call-ID, sessions, ports, tickers.',
  },
  { title: 'Gateway', dirs: ['gateway'], intro: 'Two RTP legs joined, transcoding when their codecs differ.' },
  { title: 'IVR', dirs: ['ivr'], intro: 'Call legs that play, record and collect DTMF; conferences; flows.' },
  {
    title: 'Quality reports',
    dirs: ['quality'],
    intro: 'RFC 6035 voice quality reports, the E-model, quality monitoring.',
  },
  {
    title: 'Graph API',
    dirs: ['graph'],
    intro: 'mediastreamer2 filters, graphs and tickers (Factory, Filter, Graph, Ticker, typed filters).',
  },
  { title: 'RTP', dirs: ['rtp', 'native.ts'], intro: 'RTP endpoints (oRTP sessions) and their RTCP.' },
  { title: 'SDP', dirs: ['sdp'], intro: 'SDP parsing and building.' },
  { title: 'Codecs', dirs: ['codecs'], intro: 'The codec table and fmtp parameters.' },
  {
    title: 'Control protocol',
    dirs: ['control'],
    intro: 'The rtpengine "ng" control protocol and its bencode.',
  },
  {
    title: 'Errors',
    dirs: ['errors.ts'],
    intro: 'Every error this package throws is an `RmsError` with a stable `code`.',
  },
  { title: 'Utilities', dirs: ['util', 'tools'], intro: 'WAV files, test peers, logging, the event emitter base.' },
];

function sectionOf(file: string): string {
  const rel = path.relative(path.join(root, 'lib'), file).split(path.sep);
  for (const s of SECTIONS) if (s.dirs.includes(rel[0])) return s.title;
  return 'Utilities';
}

// ---------------------------------------------------------------------------
// text helpers

function oneLine(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .replace(/([([<]) /g, '$1')
    .replace(/,? ([)\]>])/g, '$1')
    .replace(/;? }/g, ' }')
    .replace(/^\| /, '')
    .trim();
}

/**
 * A node as written in the source (prettier-formatted), comments removed.
 * Source text rather than the compiler's printer: the printer's output
 * depends on what the checker has visited, the source does not.
 */
function sourceText(node: ts.Node): string {
  const sf = node.getSourceFile();
  const text = sf.text.slice(node.getStart(sf), node.getEnd());
  if (!text.includes('//') && !text.includes('/*')) return text;
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  let out = '';
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k === ts.SyntaxKind.SingleLineCommentTrivia || k === ts.SyntaxKind.MultiLineCommentTrivia) continue;
    out += scanner.getTokenText();
  }
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .join('\n');
}

/** A node's source on one line. */
function printNode(node: ts.Node): string {
  return oneLine(sourceText(node));
}

/** A node's source with its indentation made relative to its first line. */
function blockText(node: ts.Node): string {
  const sf = node.getSourceFile();
  const indent = sf.text
    .slice(sf.getLineStarts()[sf.getLineAndCharacterOfPosition(node.getStart(sf)).line])
    .match(/^ */)![0].length;
  return sourceText(node)
    .split('\n')
    .map((l, i) => (i === 0 ? l : l.slice(Math.min(indent, l.match(/^ */)![0].length))))
    .join('\n');
}

/** Escapes what Markdown would take for HTML, outside code spans. */
function mdText(s: string): string {
  return s
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('');
}

/** A Markdown table cell: one line, pipes escaped. */
function cell(s: string): string {
  const lines = s.split('\n');
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (i === 0) out = line;
    else if (line === '') out += '<br>';
    else if (/^[-*] /.test(line) || out.endsWith('<br>')) out += '<br>' + line;
    else out += ' ' + line;
  }
  return mdText(out.replace(/(<br>)+$/, ''))
    .replace(/&lt;br&gt;/g, '<br>')
    .replace(/\|/g, '\\|');
}

function code(s: string): string {
  const ticks = s.includes('`') ? '``' : '`';
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${s}${pad}${ticks}`;
}

function codeCell(s: string): string {
  return code(s).replace(/\|/g, '\\|');
}

/** Prose on one line. */
function flat(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function firstSentence(s: string): string {
  const text = flat(s);
  const m = /^(.+?\.)(\s|$)/.exec(text);
  return m ? m[1] : text;
}

// ---------------------------------------------------------------------------
// JSDoc

interface Doc {
  text: string;
  /** `param` is the parameter's name for @param tags. */
  tags: { name: string; text: string; param?: string }[];
}

function tagText(tag: ts.JSDocTag): string {
  const c = tag.comment;
  if (c === undefined) return '';
  return typeof c === 'string' ? c : (ts.getTextOfJSDocComment(c) ?? '');
}

function docOf(checker: ts.TypeChecker, node: ts.Node, symbol?: ts.Symbol): Doc {
  let text = '';
  if (symbol) text = ts.displayPartsToString(symbol.getDocumentationComment(checker));
  // a symbol with several declarations (overloads, getter/setter): this declaration's own comment
  const own = ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((d) => (typeof d.comment === 'string' ? d.comment : (ts.getTextOfJSDocComment(d.comment) ?? '')))
    .filter((t) => t.trim() !== '');
  if (own.length) text = own.join('\n\n');
  const tags = ts.getJSDocTags(node).map((t) => ({
    name: t.tagName.text,
    text: tagText(t).trim(),
    param: ts.isJSDocParameterTag(t) ? t.name.getText() : undefined,
  }));
  return { text: text.trim(), tags };
}

function isInternal(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal');
}

/** The default a comment states, or '' when it states none. */
export function defaultFrom(doc: Doc): string {
  const tag = doc.tags.find((t) => t.name === 'default' || t.name === 'defaultValue');
  if (tag) return tag.text;
  const text = flat(doc.text);
  // 'auto' (default) / 0 (default): ... / 'offerer', the default
  let m = /('[^']*'|"[^"]*"|`[^`]*`|-?[\w.]+)\s*\((?:the\s+)?default\b/i.exec(text);
  if (m && /^['"`]|^-?\d/.test(m[1])) return m[1];
  m = /('[^']*'|"[^"]*"|`[^`]*`)\s*,?\s*(?:is\s+)?the default\b/i.exec(text);
  if (m) return m[1];
  // (default X) / (default: X), parentheses balanced
  const open = text.search(/\(default\b/i);
  if (open >= 0) {
    let depth = 0;
    let end = text.length;
    for (let i = open; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    const inner = text
      .slice(open + 1, end)
      .replace(/^default\s*:?\s*/i, '')
      .trim();
    const colon = /^(\S+):\s/.exec(inner);
    if (colon) return colon[1];
    if (inner) return inner.replace(/[,;:.]$/, '');
  }
  // Default X. / Default: X. / ..., default X.
  m = /(?:^|[.;,(]\s+|^\s*)(?:Default|default|Defaults to|defaults to)\s*:?\s+(.+?)(?:\.(?=\s|$)|;(?=\s)|$)/.exec(text);
  if (m) {
    let v = m[1].trim();
    const colon = /^(\S+):\s/.exec(v);
    if (colon) v = colon[1];
    if (/^(is|was|the|for|when|of|to|and)\b/i.test(v) && !/^the (codec|caller|first)/i.test(v)) return '';
    return v;
  }
  return '';
}

function renderTags(doc: Doc, skip: string[] = []): string {
  const out: string[] = [];
  const params = doc.tags.filter((t) => t.name === 'param');
  if (params.length) {
    out.push('Parameters:', '');
    for (const p of params) {
      const text = flat(p.text.replace(/^-\s*/, ''));
      out.push(`- ${code(p.param ?? '?')}${text ? `: ${mdText(text)}` : ''}`);
    }
    out.push('');
  }
  for (const t of doc.tags) {
    if (skip.includes(t.name)) continue;
    switch (t.name) {
      case 'param':
      case 'internal':
      case 'default':
      case 'defaultValue':
        break;
      case 'returns':
      case 'return':
        out.push(`Returns: ${mdText(flat(t.text))}`, '');
        break;
      case 'throws':
        out.push(`Throws: ${mdText(flat(t.text))}`, '');
        break;
      case 'deprecated':
        out.push(`**Deprecated.** ${mdText(flat(t.text))}`.trim(), '');
        break;
      case 'example':
        out.push('Example:', '', '```ts', t.text, '```', '');
        break;
      case 'see':
        out.push(`See: ${mdText(flat(t.text))}`, '');
        break;
      default:
        out.push(`@${t.name} ${mdText(flat(t.text))}`.trim(), '');
    }
  }
  return out.join('\n');
}

/** Doc text as Markdown paragraphs; indented blocks (diagrams) stay code. */
function renderText(text: string): string {
  if (!text) return '';
  const lines = text.split('\n');
  const out: string[] = [];
  let inCode = false;
  for (const line of lines) {
    const indented = /^ {4,}\S/.test(line);
    if (indented && !inCode && (out.length === 0 || out[out.length - 1] === '')) {
      out.push('```text');
      inCode = true;
    } else if (inCode && !indented && line.trim() !== '') {
      while (out[out.length - 1] === '') out.pop();
      out.push('```', '');
      inCode = false;
    }
    if (inCode) out.push(line.trim() === '' ? '' : line.replace(/^ {4}/, ''));
    else out.push(mdText(line));
  }
  if (inCode) {
    while (out[out.length - 1] === '') out.pop();
    out.push('```');
  }
  return out.join('\n').trim() + '\n';
}

// ---------------------------------------------------------------------------
// collecting the API

type Kind = 'class' | 'function' | 'interface' | 'type' | 'const' | 'enum' | 'namespace';

interface Item {
  /** Qualified name as used: `MediaServer`, `ng.parseRequest`. */
  name: string;
  kind: Kind;
  symbol: ts.Symbol;
  decls: ts.Declaration[];
  file: string;
  section: string;
  /** For a namespace: the source file it is. */
  moduleFile?: ts.SourceFile;
  /** A base class that is not exported itself (documented once, in Utilities). */
  baseOnly?: boolean;
}

interface Context {
  checker: ts.TypeChecker;
  items: Item[];
  /** file -> symbol -> members without a doc comment. */
  undocumented: Map<string, Map<string, Set<string>>>;
  slugs: Map<string, number>;
  /** Anchor of each item by qualified name. */
  anchors: Map<string, string>;
}

/** A link to an item, resolved once every anchor is known: the first of `names` that is documented. */
function link(names: string[], label: string): string {
  return `\u0001${names.join('|')}\u0002${label}\u0003`;
}

function resolveLinks(ctx: Context, text: string): string {
  // control characters mark the link placeholders made by linkMarker(); they cannot occur in doc text
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u0001([^\u0002]*)\u0002([^\u0003]*)\u0003/g, (_, names: string, label: string) => {
    const anchor = names
      .split('|')
      .map((n) => ctx.anchors.get(n))
      .find((a) => a !== undefined);
    return anchor ? `[${label}](#${anchor})` : label;
  });
}

/** `ng.` for a member of namespace ng, '' at the top level. */
function nsOf(item: Item): string {
  return item.name.slice(0, item.name.lastIndexOf('.') + 1);
}

function localName(item: Item): string {
  return item.name.slice(item.name.lastIndexOf('.') + 1);
}

/** A link to the type a simple type reference names, else the type as code. */
function typeLink(item: Item, node: ts.TypeNode | ts.ExpressionWithTypeArguments | ts.Expression): string {
  const text = printNode(node);
  const ref = ts.isTypeReferenceNode(node)
    ? node.typeName
    : ts.isExpressionWithTypeArguments(node)
      ? node.expression
      : node;
  const name = ts.isIdentifier(ref)
    ? ref.text
    : ts.isQualifiedName(ref) || ts.isPropertyAccessExpression(ref)
      ? ref.getText()
      : '';
  return name ? link([nsOf(item) + name, name], code(text)) : code(text);
}

function collect(checker: ts.TypeChecker, moduleSymbol: ts.Symbol, prefix: string, items: Item[], seen: Set<string>) {
  const exports = checker.getExportsOfModule(moduleSymbol);
  for (const exp of exports) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const name = prefix + exp.name;
    if (seen.has(name)) continue;
    seen.add(name);
    const decls = sym.declarations ?? [];
    const sf = decls.find(ts.isSourceFile);
    if (sf) {
      items.push({
        name,
        kind: 'namespace',
        symbol: sym,
        decls: [],
        file: sf.fileName,
        section: sectionOf(sf.fileName),
        moduleFile: sf,
      });
      collect(checker, sym, name + '.', items, seen);
      continue;
    }
    const groups: [Kind, ts.Declaration[]][] = [
      ['class', decls.filter(ts.isClassDeclaration)],
      ['function', decls.filter(ts.isFunctionDeclaration)],
      ['interface', decls.filter(ts.isInterfaceDeclaration)],
      ['type', decls.filter(ts.isTypeAliasDeclaration)],
      ['const', decls.filter(ts.isVariableDeclaration)],
      ['enum', decls.filter(ts.isEnumDeclaration)],
    ];
    for (const [kind, ds] of groups) {
      if (!ds.length || ds.every(isInternalDecl)) continue;
      const file = ds[0].getSourceFile().fileName;
      items.push({ name, kind, symbol: sym, decls: ds, file, section: sectionOf(file) });
    }
  }
}

function isInternalDecl(d: ts.Declaration): boolean {
  if (isInternal(d)) return true;
  // const x = ..., the JSDoc is on the statement
  if (ts.isVariableDeclaration(d) && ts.isVariableStatement(d.parent.parent)) return isInternal(d.parent.parent);
  return false;
}

function heritage(
  cls: ts.ClassDeclaration | ts.InterfaceDeclaration,
  token: ts.SyntaxKind,
): ts.ExpressionWithTypeArguments[] {
  return (cls.heritageClauses ?? []).filter((h) => h.token === token).flatMap((h) => [...h.types]);
}

/** The chain of base classes of a class (symbols, nearest first). */
function baseChain(checker: ts.TypeChecker, cls: ts.ClassDeclaration): ts.ClassDeclaration[] {
  const out: ts.ClassDeclaration[] = [];
  let cur: ts.ClassDeclaration | undefined = cls;
  while (cur) {
    const ext = heritage(cur, ts.SyntaxKind.ExtendsKeyword)[0];
    if (!ext) break;
    let s = checker.getSymbolAtLocation(ext.expression);
    if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
    const d = s?.declarations?.find(ts.isClassDeclaration);
    if (!d || out.includes(d)) break;
    out.push(d);
    cur = d;
  }
  return out;
}

function isError(checker: ts.TypeChecker, cls: ts.ClassDeclaration): boolean {
  if (cls.name?.text === 'RmsError' && cls.getSourceFile().fileName.endsWith(path.join('lib', 'errors.ts')))
    return true;
  return baseChain(checker, cls).some((b) => b.name?.text === 'RmsError');
}

/** The `code` an error class sets: its constructor's `code = '...'` default or the literal it passes to super. */
function errorCode(checker: ts.TypeChecker, cls: ts.ClassDeclaration): string {
  for (const c of [cls, ...baseChain(checker, cls)]) {
    const ctor = c.members.find(ts.isConstructorDeclaration);
    if (!ctor) continue;
    const p = ctor.parameters.find((q) => ts.isIdentifier(q.name) && q.name.text === 'code');
    if (p?.initializer && ts.isStringLiteral(p.initializer)) return p.initializer.text;
    let found = '';
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) {
        const lit = n.arguments.find((a) => ts.isStringLiteral(a) && /^ERR_/.test(a.text));
        if (lit) found = (lit as ts.StringLiteral).text;
      }
      ts.forEachChild(n, visit);
    };
    if (ctor.body) visit(ctor.body);
    if (found) return found;
    return '';
  }
  return '';
}

// ---------------------------------------------------------------------------
// rendering

function slug(ctx: Context, heading: string): string {
  const base = heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
  const n = ctx.slugs.get(base) ?? 0;
  ctx.slugs.set(base, n + 1);
  return n === 0 ? base : `${base}-${n}`;
}

function modifiers(node: ts.Node): ts.ModifierFlags {
  return ts.getCombinedModifierFlags(node as ts.Declaration);
}

function isPublicMember(m: ts.ClassElement | ts.TypeElement): boolean {
  if (!m.name || ts.isPrivateIdentifier(m.name)) return false;
  if (modifiers(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  return !isInternal(m);
}

function memberName(m: ts.ClassElement | ts.TypeElement): string {
  const n = m.name!;
  if (ts.isComputedPropertyName(n)) return `[${printNode(n.expression)}]`;
  return ts.isIdentifier(n) || ts.isPrivateIdentifier(n) ? n.text : n.getText();
}

function paramText(p: ts.ParameterDeclaration): string {
  const name = printNode(p.name);
  const rest = p.dotDotDotToken ? '...' : '';
  const opt = p.questionToken ? '?' : '';
  const type = p.type ? `: ${printNode(p.type)}` : '';
  const init = p.initializer ? ` = ${printNode(p.initializer)}` : '';
  return `${rest}${name}${opt}${type}${init}`;
}

function paramShort(p: ts.ParameterDeclaration): string {
  const name = ts.isIdentifier(p.name) ? p.name.text : 'opts';
  return `${p.dotDotDotToken ? '...' : ''}${name}${p.questionToken || p.initializer ? '?' : ''}`;
}

function typeParams(tps: ts.NodeArray<ts.TypeParameterDeclaration> | undefined): string {
  return tps?.length ? `<${tps.map(printNode).join(', ')}>` : '';
}

function returnText(checker: ts.TypeChecker, d: ts.SignatureDeclaration): string {
  if (d.type) return printNode(d.type);
  const sig = checker.getSignatureFromDeclaration(d);
  return sig ? checker.typeToString(checker.getReturnTypeOfSignature(sig)) : 'void';
}

function typeOfDecl(checker: ts.TypeChecker, d: ts.Declaration & { type?: ts.TypeNode }): string {
  if (d.type) return printNode(d.type);
  const t = checker.getTypeAtLocation(d);
  return checker.typeToString(
    t,
    undefined,
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType,
  );
}

/** Records a public symbol (`owner`) or member of it without a doc comment. */
function note(ctx: Context, owner: string, member: string, file: string) {
  const f = path.relative(root, file).split(path.sep).join('/');
  let byOwner = ctx.undocumented.get(f);
  if (!byOwner) ctx.undocumented.set(f, (byOwner = new Map()));
  const name = owner.slice(owner.lastIndexOf('.') + 1);
  let members = byOwner.get(name);
  if (!members) byOwner.set(name, (members = new Set()));
  members.add(member);
}

/** One line per file and symbol: `lib/x.ts: Owner: a, b` (a bare `Owner` has no comment itself). */
function undocumentedList(ctx: Context): string[] {
  const out: string[] = [];
  for (const [file, byOwner] of [...ctx.undocumented].sort(([a], [b]) => a.localeCompare(b)))
    for (const [owner, members] of byOwner) {
      const list = [...members].filter((m) => m !== '');
      const self = members.has('') ? ' (no comment)' : '';
      out.push(`${file}: ${owner}${self}${list.length ? `: ${list.join(', ')}` : ''}`);
    }
  return out;
}

function count(ctx: Context): number {
  let n = 0;
  for (const byOwner of ctx.undocumented.values()) for (const m of byOwner.values()) n += m.size;
  return n;
}

function signatureBlock(lines: string[]): string {
  return ['```ts', ...lines, '```', ''].join('\n');
}

/** `| name | type | default | description |` for every property of an interface or type literal. */
function propertyTable(
  ctx: Context,
  owner: string,
  type: ts.Type,
  file: string,
  withDefault: boolean | 'auto' = 'auto',
): string {
  const { checker } = ctx;
  const rows: { name: string; type: string; def: string; desc: string }[] = [];
  for (const prop of checker.getPropertiesOfType(type)) {
    const d = prop.declarations?.[0];
    if (!d || isInternal(d)) continue;
    if (ts.isPropertySignature(d) || ts.isPropertyDeclaration(d) || ts.isMethodSignature(d)) {
      if ((ts.isPropertySignature(d) || ts.isPropertyDeclaration(d)) && d.name && ts.isPrivateIdentifier(d.name))
        continue;
    }
    let typeText: string;
    let optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    if (ts.isMethodSignature(d)) {
      typeText = `${typeParams(d.typeParameters)}(${d.parameters.map(paramText).join(', ')}) => ${returnText(checker, d)}`;
      optional = !!d.questionToken;
    } else if ((ts.isPropertySignature(d) || ts.isPropertyDeclaration(d)) && d.type) {
      typeText = printNode(d.type);
    } else {
      typeText = checker.typeToString(
        checker.getTypeOfSymbolAtLocation(prop, d),
        undefined,
        ts.TypeFormatFlags.NoTruncation,
      );
    }
    const doc = docOf(checker, d, prop);
    if (!doc.text) {
      const parent = d.parent;
      const declaredIn =
        parent && ts.isInterfaceDeclaration(parent)
          ? parent.name.text
          : parent && ts.isTypeLiteralNode(parent) && ts.isTypeAliasDeclaration(parent.parent)
            ? parent.parent.name.text
            : owner;
      note(ctx, declaredIn, prop.name, d.getSourceFile().fileName);
    }
    const readonly = modifiers(d) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
    const name = codeCell(`${readonly}${prop.name}${optional ? '?' : ''}`);
    const deprecated = doc.tags.find((t) => t.name === 'deprecated');
    const desc = (deprecated ? `**Deprecated.** ${deprecated.text} ` : '') + doc.text;
    const def = defaultFrom(doc);
    rows.push({ name, type: codeCell(typeText), def: def ? cell(def) : '', desc: cell(desc) });
  }
  const index = [
    checker.getIndexInfoOfType(type, ts.IndexKind.String),
    checker.getIndexInfoOfType(type, ts.IndexKind.Number),
  ];
  for (const info of index) {
    if (!info) continue;
    const key = checker.typeToString(info.keyType);
    rows.push({ name: codeCell(`[key: ${key}]`), type: codeCell(checker.typeToString(info.type)), def: '', desc: '' });
  }
  if (!rows.length) return '';
  void file;
  // a default column where a default is stated, and always for options
  const defaults = withDefault === 'auto' ? rows.some((r) => r.def) : withDefault;
  const head = defaults
    ? '| name | type | default | description |\n| --- | --- | --- | --- |'
    : '| name | type | description |\n| --- | --- | --- |';
  const lines = rows.map((r) => `| ${[r.name, r.type, ...(defaults ? [r.def] : []), r.desc].join(' | ')} |`);
  return `${head}\n${lines.join('\n')}\n`;
}

function sourceLine(file: string): string {
  return `<sub>${path.relative(root, file).split(path.sep).join('/')}</sub>\n`;
}

function renderClass(ctx: Context, item: Item, out: string[]) {
  const { checker } = ctx;
  const cls = item.decls[0] as ts.ClassDeclaration;
  const doc = docOf(checker, cls, item.symbol);
  const tp = typeParams(cls.typeParameters);
  const title = item.baseOnly ? `class ${item.name} (base class, not exported)` : `class ${item.name}`;
  out.push(`### ${title}`, '');
  ctx.anchors.set(item.name, slug(ctx, title));
  const ext = heritage(cls, ts.SyntaxKind.ExtendsKeyword).map(printNode);
  const impl = heritage(cls, ts.SyntaxKind.ImplementsKeyword).map(printNode);
  const abs = modifiers(cls) & ts.ModifierFlags.Abstract ? 'abstract ' : '';
  out.push(
    signatureBlock([
      `${abs}class ${localName(item)}${tp}${ext.length ? ` extends ${ext[0]}` : ''}${impl.length ? ` implements ${impl.join(', ')}` : ''}`,
    ]),
  );
  out.push(sourceLine(item.file));
  if (doc.text) out.push(renderText(doc.text));
  else if (!item.baseOnly) note(ctx, item.name, '', item.file);
  const tags = renderTags(doc);
  if (tags) out.push(tags);
  if (isError(checker, cls)) {
    const c = errorCode(checker, cls);
    if (c) out.push(`Error code: ${code(c)}`, '');
  }
  const chain = baseChain(checker, cls);
  const emitter = [cls, ...chain].find((c) => c.name?.text === 'SafeEmitter');
  if (emitter && ext.length) {
    // the events type is the SafeEmitter / Filter type argument
    const base = heritage(cls, ts.SyntaxKind.ExtendsKeyword)[0];
    const args = base.typeArguments;
    if (args?.length) out.push(`Events (\`on\`, \`once\`, \`off\`): ${typeLink(item, args[0])}.`, '');
    else if (chain.length) out.push(`Events: as ${typeLink(item, base.expression)}.`, '');
  }
  if (chain.length) {
    const names = chain.map((c) => c.name?.text ?? '?');
    out.push(`Inherits the members of ${names.map((n) => link([nsOf(item) + n, n], code(n))).join(', then ')}.`, '');
  }

  // constructor
  const ctors = cls.members.filter(ts.isConstructorDeclaration);
  let ctorDecls: ts.ConstructorDeclaration[] = ctors.filter((c) => !c.body || ctors.length === 1);
  if (!ctors.length) {
    for (const b of chain) {
      const bc = b.members.filter(ts.isConstructorDeclaration);
      if (bc.length) {
        ctorDecls = bc.filter((c) => !c.body || bc.length === 1);
        break;
      }
    }
  }
  const publicCtors = ctorDecls.filter(
    (c) =>
      isPublicMember(c as unknown as ts.ClassElement) ||
      (!isInternal(c) && !(modifiers(c) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))),
  );
  const creatable = publicCtors.filter(
    (c) => !isInternal(c) && !(modifiers(c) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)),
  );
  if (creatable.length && !(modifiers(cls) & ts.ModifierFlags.Abstract)) {
    const short = `new ${item.name}(${creatable[0].parameters.map(paramShort).join(', ')})`;
    out.push(`#### ${code(short)}`, '');
    slug(ctx, short);
    out.push(signatureBlock(creatable.map((c) => `new ${item.name}${tp}(${c.parameters.map(paramText).join(', ')})`)));
    const cdoc = docOf(checker, creatable[0]);
    if (cdoc.text) out.push(renderText(cdoc.text));
    const t = renderTags(cdoc);
    if (t) out.push(t);
  }

  // properties: fields and accessors
  const props: { name: string; type: string; readonly: boolean; isStatic: boolean; doc: Doc; node: ts.Node }[] = [];
  const byName = new Map<string, (typeof props)[number]>();
  for (const m of cls.members) {
    if (!(ts.isPropertyDeclaration(m) || ts.isGetAccessorDeclaration(m) || ts.isSetAccessorDeclaration(m))) continue;
    if (!isPublicMember(m)) continue;
    const name = memberName(m);
    const isStatic = (modifiers(m) & ts.ModifierFlags.Static) !== 0;
    const key = (isStatic ? 'static ' : '') + name;
    const d = docOf(checker, m);
    let existing = byName.get(key);
    if (!existing) {
      existing = { name, type: '', readonly: true, isStatic, doc: d, node: m };
      byName.set(key, existing);
      props.push(existing);
    }
    if (!existing.doc.text && d.text) existing.doc = d;
    if (ts.isPropertyDeclaration(m)) {
      existing.type = typeOfDecl(checker, m);
      existing.readonly = (modifiers(m) & ts.ModifierFlags.Readonly) !== 0;
      if (m.questionToken) existing.name = name + '?';
    } else if (ts.isGetAccessorDeclaration(m)) {
      existing.type = returnText(checker, m);
    } else {
      existing.readonly = false;
      if (!existing.type && m.parameters[0])
        existing.type = m.parameters[0].type ? printNode(m.parameters[0].type) : 'unknown';
    }
  }
  if (props.length) {
    out.push('#### Properties', '');
    slug(ctx, 'Properties');
    out.push('| name | type | description |', '| --- | --- | --- |');
    for (const p of props) {
      if (!p.doc.text) note(ctx, item.name, `${p.isStatic ? 'static ' : ''}${p.name.replace(/\?$/, '')}`, item.file);
      const name = `${p.readonly ? 'readonly ' : ''}${p.isStatic ? `${item.name}.` : ''}${p.name}`;
      out.push(`| ${codeCell(name)} | ${codeCell(p.type)} | ${cell(p.doc.text)} |`);
    }
    out.push('');
  }

  // methods, instance then static
  const methods = cls.members.filter((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && isPublicMember(m));
  const names: string[] = [];
  for (const m of methods) if (!names.includes(memberName(m))) names.push(memberName(m));
  const ordered = [
    ...names.filter((n) => methods.some((m) => memberName(m) === n && !(modifiers(m) & ts.ModifierFlags.Static))),
    ...names.filter((n) => methods.some((m) => memberName(m) === n && modifiers(m) & ts.ModifierFlags.Static)),
  ];
  for (const n of ordered) {
    const all = methods.filter((m) => memberName(m) === n);
    const sigs = all.length > 1 ? all.filter((m) => !m.body) : all;
    const isStatic = (modifiers(sigs[0]) & ts.ModifierFlags.Static) !== 0;
    const target = isStatic ? `${item.name}.${n}` : `.${n}`;
    const short = `${target}(${sigs[0].parameters.map(paramShort).join(', ')}) -> ${returnText(checker, sigs[0])}`;
    out.push(`#### ${code(short)}`, '');
    slug(ctx, short);
    out.push(
      signatureBlock(
        sigs.map(
          (s) =>
            `${isStatic ? 'static ' : ''}${modifiers(s) & ts.ModifierFlags.Abstract ? 'abstract ' : ''}${modifiers(s) & ts.ModifierFlags.Async ? 'async ' : ''}${n}${typeParams(s.typeParameters)}(${s.parameters.map(paramText).join(', ')}): ${returnText(checker, s)}`,
        ),
      ),
    );
    const d = sigs.map((s) => docOf(checker, s)).find((x) => x.text) ?? docOf(checker, all[all.length - 1]);
    if (d.text) out.push(renderText(d.text));
    else note(ctx, item.name, `${isStatic ? 'static ' : ''}${n}()`, item.file);
    const t = renderTags(d);
    if (t) out.push(t);
  }
}

function renderFunction(ctx: Context, item: Item, out: string[]) {
  const { checker } = ctx;
  const fns = item.decls as ts.FunctionDeclaration[];
  const sigs = fns.length > 1 ? fns.filter((f) => !f.body) : fns;
  const first = sigs[0];
  const short = `${item.name}(${first.parameters.map(paramShort).join(', ')}) -> ${returnText(checker, first)}`;
  out.push(`### ${code(short)}`, '');
  ctx.anchors.set(item.name, slug(ctx, short));
  const async = (f: ts.FunctionDeclaration) => (modifiers(f) & ts.ModifierFlags.Async ? 'async ' : '');
  out.push(
    signatureBlock(
      sigs.map(
        (s) =>
          `${async(s)}function ${localName(item)}${typeParams(s.typeParameters)}(${s.parameters.map(paramText).join(', ')}): ${returnText(checker, s)}`,
      ),
    ),
  );
  out.push(sourceLine(item.file));
  const d = sigs.map((s) => docOf(checker, s)).find((x) => x.text) ?? docOf(checker, fns[0]);
  if (d.text) out.push(renderText(d.text));
  else note(ctx, `${item.name}()`, '', item.file);
  const t = renderTags(d);
  if (t) out.push(t);
}

function renderInterface(ctx: Context, item: Item, out: string[]) {
  const { checker } = ctx;
  const decl = item.decls[0] as ts.InterfaceDeclaration;
  const title = `interface ${item.name}`;
  out.push(`### ${title}`, '');
  ctx.anchors.set(item.name, slug(ctx, title));
  const ext = item.decls.flatMap((d) => heritage(d as ts.InterfaceDeclaration, ts.SyntaxKind.ExtendsKeyword));
  out.push(sourceLine(item.file));
  const doc = docOf(checker, decl, item.symbol);
  if (doc.text) out.push(renderText(doc.text));
  else note(ctx, item.name, '', item.file);
  if (ext.length)
    out.push(`Extends ${ext.map((e) => typeLink(item, e)).join(', ')} (inherited properties included below).`, '');
  const t = renderTags(doc);
  if (t) out.push(t);
  const type = checker.getDeclaredTypeOfSymbol(item.symbol);
  const calls = type.getCallSignatures();
  for (const c of calls)
    out.push(
      signatureBlock([
        `(${c
          .getParameters()
          .map((p) => p.name)
          .join(', ')}) => ${checker.typeToString(c.getReturnType())}`,
      ]),
    );
  const table = propertyTable(
    ctx,
    item.name,
    type,
    item.file,
    /Events$/.test(item.name) ? false : /Options$/.test(item.name) || 'auto',
  );
  if (table) out.push(table);
}

function renderType(ctx: Context, item: Item, out: string[]) {
  const { checker } = ctx;
  const decl = item.decls[0] as ts.TypeAliasDeclaration;
  const title = `type ${item.name}`;
  out.push(`### ${title}`, '');
  ctx.anchors.set(item.name, slug(ctx, title));
  const body = blockText(decl.type);
  const single = oneLine(body);
  out.push(
    signatureBlock([
      `type ${localName(item)}${typeParams(decl.typeParameters)} =${single.length <= 100 ? ' ' + single : body.startsWith('|') ? '\n' + body.replace(/^/gm, '  ') : ' ' + body}`,
    ]),
  );
  out.push(sourceLine(item.file));
  const doc = docOf(checker, decl, item.symbol);
  if (doc.text) out.push(renderText(doc.text));
  else note(ctx, item.name, '', item.file);
  const t = renderTags(doc);
  if (t) out.push(t);
  // an object type (a literal, or another name for an interface): its properties
  const type = checker.getDeclaredTypeOfSymbol(item.symbol);
  const objectLike =
    ts.isTypeLiteralNode(decl.type) ||
    (ts.isTypeReferenceNode(decl.type) && type.flags & ts.TypeFlags.Object && !type.getCallSignatures().length);
  if (objectLike) {
    const table = propertyTable(ctx, item.name, type, item.file);
    if (table) out.push(table);
  }
}

function renderConst(ctx: Context, item: Item, out: string[]) {
  const { checker } = ctx;
  const decl = item.decls[0] as ts.VariableDeclaration;
  const stmt = decl.parent.parent;
  const isConst = ts.isVariableDeclarationList(decl.parent) && (decl.parent.flags & ts.NodeFlags.Const) !== 0;
  const kw = isConst ? 'const' : 'let';
  const title = `${kw} ${item.name}`;
  out.push(`### ${code(title)}`, '');
  ctx.anchors.set(item.name, slug(ctx, title));
  let type = typeOfDecl(checker, decl);
  let init = '';
  let block = '';
  if (decl.initializer && !decl.type) {
    const text = printNode(decl.initializer);
    // `as const` literals: the value is the documentation
    const e = decl.initializer;
    if (
      ts.isAsExpression(e) &&
      ts.isTypeReferenceNode(e.type) &&
      e.type.typeName.getText() === 'const' &&
      (ts.isObjectLiteralExpression(e.expression) || ts.isArrayLiteralExpression(e.expression))
    ) {
      const printed = blockText(e);
      if (printed.length <= 2000) block = printed;
    }
    const simple =
      ts.isNumericLiteral(decl.initializer) ||
      ts.isStringLiteral(decl.initializer) ||
      ts.isBinaryExpression(decl.initializer) ||
      ts.isPrefixUnaryExpression(decl.initializer) ||
      ts.isRegularExpressionLiteral(decl.initializer);
    if (simple && text.length <= 120) init = ` = ${text}`;
    if (ts.isArrowFunction(decl.initializer) || ts.isFunctionExpression(decl.initializer)) {
      const f = decl.initializer;
      type = `${typeParams(f.typeParameters)}(${f.parameters.map(paramText).join(', ')}) => ${returnText(checker, f)}`;
    }
  }
  if (type.length > 400) type = type.slice(0, 400).replace(/\s+\S*$/, '') + ' …';
  if (block) out.push(signatureBlock([`${kw} ${localName(item)} = ${block}`]));
  else if (
    init &&
    (init === ` = ${type}` || ts.isNumericLiteral(decl.initializer!) || ts.isStringLiteral(decl.initializer!))
  )
    out.push(signatureBlock([`${kw} ${localName(item)}${init}`]));
  else out.push(signatureBlock([`${kw} ${localName(item)}: ${type}${init}`]));
  out.push(sourceLine(item.file));
  const doc = docOf(checker, ts.isVariableStatement(stmt) ? stmt : decl, item.symbol);
  if (doc.text) out.push(renderText(doc.text));
  else note(ctx, item.name, '', item.file);
  const t = renderTags(doc);
  if (t) out.push(t);
}

function renderEnum(ctx: Context, item: Item, out: string[]) {
  const { checker } = ctx;
  const decl = item.decls[0] as ts.EnumDeclaration;
  const title = `enum ${item.name}`;
  out.push(`### ${title}`, '');
  ctx.anchors.set(item.name, slug(ctx, title));
  out.push(sourceLine(item.file));
  const doc = docOf(checker, decl, item.symbol);
  if (doc.text) out.push(renderText(doc.text));
  else note(ctx, item.name, '', item.file);
  out.push('| member | value | description |', '| --- | --- | --- |');
  for (const m of decl.members) {
    const v = checker.getConstantValue(m);
    out.push(
      `| ${codeCell(m.name.getText())} | ${v === undefined ? '' : codeCell(JSON.stringify(v))} | ${cell(docOf(checker, m).text)} |`,
    );
  }
  out.push('');
}

function moduleDoc(sf: ts.SourceFile): string {
  const first = sf.statements[0];
  if (!first) return '';
  const ranges = ts.getLeadingCommentRanges(sf.text, first.pos) ?? [];
  const r = ranges.find((c) => sf.text.startsWith('/**', c.pos));
  if (!r) return '';
  // a comment on the first statement belongs to the module only when that statement is an import
  if (!ts.isImportDeclaration(first) && ranges.indexOf(r) === ranges.length - 1) return '';
  return sf.text
    .slice(r.pos + 3, r.end - 2)
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

function renderNamespace(ctx: Context, item: Item, members: Item[], out: string[]) {
  const title = `namespace ${item.name}`;
  out.push(`### ${title}`, '');
  ctx.anchors.set(item.name, slug(ctx, title));
  out.push(signatureBlock([`import { ${item.name} } from 'rtp-media-server';`]));
  out.push(sourceLine(item.file));
  const text = moduleDoc(item.moduleFile!);
  if (text) out.push(renderText(text));
  else note(ctx, item.name, '', item.file);
  out.push(`Members: ${members.map((m) => link([m.name], code(m.name))).join(', ')}.`, '');
}

// ---------------------------------------------------------------------------
// types the public API names but does not export

/** The type nodes of an item's public surface (not bodies, not private members). */
function surfaceTypes(item: Item): ts.Node[] {
  const out: ts.Node[] = [];
  const sig = (d: ts.SignatureDeclarationBase) => {
    for (const p of d.parameters) if (p.type) out.push(p.type);
    if (d.type) out.push(d.type);
  };
  for (const d of item.decls) {
    if (ts.isClassDeclaration(d) || ts.isInterfaceDeclaration(d)) {
      for (const h of d.heritageClauses ?? []) out.push(...h.types);
      for (const m of d.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
        if (ts.isConstructorDeclaration(m)) {
          if (!isInternal(m) && !(modifiers(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))) sig(m);
          continue;
        }
        if (!m.name || !isPublicMember(m)) continue;
        if ((ts.isPropertyDeclaration(m) || ts.isPropertySignature(m)) && m.type) out.push(m.type);
        else if (ts.isMethodDeclaration(m) || ts.isMethodSignature(m) || ts.isGetAccessor(m) || ts.isSetAccessor(m))
          sig(m);
      }
    } else if (ts.isTypeAliasDeclaration(d)) out.push(d.type);
    else if (ts.isFunctionDeclaration(d)) sig(d);
    else if (ts.isVariableDeclaration(d) && d.type) out.push(d.type);
  }
  return out;
}

function unexportedTypes(checker: ts.TypeChecker, items: Item[]): string[] {
  const exported = new Set(items.map((i) => i.symbol));
  const found = new Map<string, Set<string>>();
  const lib = path.join(root, 'lib') + path.sep;
  for (const item of items) {
    if (item.baseOnly) continue;
    const visit = (n: ts.Node): void => {
      const ref = ts.isTypeReferenceNode(n)
        ? n.typeName
        : ts.isExpressionWithTypeArguments(n)
          ? n.expression
          : ts.isTypeQueryNode(n)
            ? n.exprName
            : undefined;
      if (ref) {
        let sym = checker.getSymbolAtLocation(ts.isQualifiedName(ref) ? ref.right : ref);
        if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
        const d = sym?.declarations?.[0];
        if (
          sym &&
          d &&
          !(sym.flags & ts.SymbolFlags.TypeParameter) &&
          !exported.has(sym) &&
          d.getSourceFile().fileName.startsWith(lib)
        ) {
          const key = `${sym.name} (${path.relative(root, d.getSourceFile().fileName).split(path.sep).join('/')})`;
          if (!found.has(key)) found.set(key, new Set());
          found.get(key)!.add(item.name);
        }
      }
      ts.forEachChild(n, visit);
    };
    for (const t of surfaceTypes(item)) visit(t);
  }
  return [...found].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}, named by ${[...v].join(', ')}`);
}

// ---------------------------------------------------------------------------
// the document

const KIND_ORDER: Kind[] = ['namespace', 'class', 'function', 'const', 'enum', 'interface', 'type'];

export function generate(): {
  markdown: string;
  undocumented: string[];
  undocumentedCount: number;
  unexported: string[];
} {
  const program = loadProgram();
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry);
  if (!sf) throw new Error(`api-docs: cannot read ${entry}`);
  // syntax errors only: a full type check is tsc's job, and it would double the time
  const diags = program.getSyntacticDiagnostics().filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length)
    throw new Error(
      'api-docs: lib does not compile:\n' +
        ts.formatDiagnostics(diags, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => root,
          getNewLine: () => '\n',
        }),
    );
  const moduleSymbol = checker.getSymbolAtLocation(sf)!;
  const items: Item[] = [];
  collect(checker, moduleSymbol, '', items, new Set());

  // errors go to their own section, wherever they are declared
  for (const it of items)
    if (it.kind === 'class' && isError(checker, it.decls[0] as ts.ClassDeclaration)) it.section = 'Errors';

  // base classes that are not exported (SafeEmitter): documented once
  const exportedClasses = new Set(items.filter((i) => i.kind === 'class').map((i) => i.decls[0]));
  for (const it of [...items]) {
    if (it.kind !== 'class') continue;
    for (const b of baseChain(checker, it.decls[0] as ts.ClassDeclaration)) {
      if (exportedClasses.has(b)) continue;
      exportedClasses.add(b);
      const sym = checker.getSymbolAtLocation(b.name!)!;
      items.push({
        name: b.name!.text,
        kind: 'class',
        symbol: sym,
        decls: [b],
        file: b.getSourceFile().fileName,
        section: 'Utilities',
        baseOnly: true,
      });
    }
  }

  const rel = (f: string) => path.relative(root, f);
  const namesFile = (i: Item) => (localName(i) === path.basename(i.file, '.ts') ? 0 : 1);
  const order = (a: Item, b: Item) =>
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    rel(a.file).localeCompare(rel(b.file)) ||
    namesFile(a) - namesFile(b) ||
    (a.decls[0]?.pos ?? 0) - (b.decls[0]?.pos ?? 0) ||
    a.name.localeCompare(b.name);

  const ctx: Context = { checker, items, undocumented: new Map(), slugs: new Map(), anchors: new Map() };
  const body: string[] = [];
  const toc: string[] = [];
  slug(ctx, 'API reference');
  slug(ctx, 'Contents');
  for (const section of SECTIONS) {
    const inSection = items.filter((i) => i.section === section.title && !i.name.includes('.'));
    if (!inSection.length) continue;
    const namespaces = inSection.filter((i) => i.kind === 'namespace');
    const top = inSection.filter((i) => i.kind !== 'namespace').sort(order);
    body.push(`## ${section.title}`, '', section.intro, '');
    toc.push(`- [${section.title}](#${slug(ctx, section.title)})`);
    if (section.title === 'Errors') {
      const errs = items.filter((i) => i.section === 'Errors' && i.kind === 'class').sort(order);
      body.push('| error | code | extends | when |', '| --- | --- | --- | --- |');
      for (const e of errs) {
        const cls = e.decls[0] as ts.ClassDeclaration;
        const ext = heritage(cls, ts.SyntaxKind.ExtendsKeyword).map(printNode)[0] ?? '';
        const c = errorCode(checker, cls);
        body.push(
          `| ${link([e.name], codeCell(e.name))} | ${c ? codeCell(c) : ''} | ${ext ? link([ext], codeCell(ext)) : ''} | ${cell(firstSentence(docOf(checker, cls, e.symbol).text))} |`,
        );
      }
      body.push('');
    }
    const render = (it: Item, out: string[]) => {
      const start = out.length;
      switch (it.kind) {
        case 'class':
          renderClass(ctx, it, out);
          break;
        case 'function':
          renderFunction(ctx, it, out);
          break;
        case 'interface':
          renderInterface(ctx, it, out);
          break;
        case 'type':
          renderType(ctx, it, out);
          break;
        case 'const':
          renderConst(ctx, it, out);
          break;
        case 'enum':
          renderEnum(ctx, it, out);
          break;
        case 'namespace':
          break;
      }
      const anchor = ctx.anchors.get(it.name);
      return { start, anchor };
    };
    const entries: string[] = [];
    for (const it of top) {
      const { anchor } = render(it, body);
      entries.push(`[${it.name}](#${anchor})`);
    }
    if (entries.length) toc.push(`  - ${entries.join(', ')}`);
    for (const ns of namespaces) {
      const members = items.filter((i) => i.name.startsWith(ns.name + '.')).sort(order);
      renderNamespace(ctx, ns, members, body);
      const nsEntries: string[] = [];
      for (const m of members) {
        const { anchor } = render(m, body);
        nsEntries.push(`[${m.name.slice(ns.name.length + 1)}](#${anchor})`);
      }
      toc.push(`  - [namespace ${ns.name}](#${ctx.anchors.get(ns.name)}): ${nsEntries.join(', ')}`);
    }
  }
  const header = [
    '<!-- Generated by scripts/api-docs.ts from lib/index.ts: do not edit. Run `npm run docs:api` after changing the public API or its doc comments. -->',
    '',
    '# API reference',
    '',
    "Everything `require('rtp-media-server')` exports, section by section. Each entry is read from the TypeScript source and its doc comments; defaults are the ones the comments state.",
    '',
    '## Contents',
    '',
    ...toc,
    '',
  ];
  const markdown = resolveLinks(ctx, [...header, ...body].join('\n'))
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()
    .concat('\n');
  return {
    markdown,
    undocumented: undocumentedList(ctx),
    undocumentedCount: count(ctx),
    unexported: unexportedTypes(checker, items),
  };
}

function main(argv: string[]): number {
  const started = process.hrtime.bigint();
  const { markdown, undocumented, undocumentedCount, unexported } = generate();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (argv.includes('--undocumented')) {
    process.stdout.write(undocumented.join('\n') + '\n');
    process.stdout.write(`\nTypes the public API names but lib/index.ts does not export:\n${unexported.join('\n')}\n`);
    process.stderr.write(`${undocumentedCount} public symbols and members without a doc comment\n`);
    return 0;
  }
  if (argv.includes('--check')) {
    const current = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '';
    if (current === markdown) {
      process.stdout.write(`docs/api.md is up to date (${ms.toFixed(0)} ms)\n`);
      return 0;
    }
    const a = current.split('\n');
    const b = markdown.split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    process.stderr.write(
      `docs/api.md is out of date: run \`npm run docs:api\` and commit it.\n` +
        `first difference at line ${i + 1}:\n  committed: ${a[i] ?? '(end of file)'}\n  generated: ${b[i] ?? '(end of file)'}\n`,
    );
    return 1;
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, markdown);
  process.stdout.write(
    `wrote docs/api.md: ${markdown.length} bytes, ${markdown.split('\n').length} lines in ${ms.toFixed(0)} ms; ${undocumentedCount} public symbols and members without a doc comment (--undocumented lists them)\n`,
  );
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
