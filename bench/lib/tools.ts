/**
 * What the bench needs besides the package: Debian packages (installed when
 * missing), the two C programs built from bench/native with gcc, and the
 * speech the load generator plays.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BUILD = path.join(ROOT, 'build', 'bench');
/** Where results go by default: outside build/, which `node-gyp rebuild` wipes. */
export const RESULTS = path.join(ROOT, 'bench-results');
const NATIVE = path.join(ROOT, 'bench', 'native');

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** apt-get installs whichever of `pkgs` is missing (root, or sudo). */
export function ensurePackages(pkgs: string[]): void {
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return;
  console.error(`bench: installing ${missing.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) =>
    execFileSync(sudo.length ? 'sudo' : args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit', env });
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
}

/** Packages every run needs (the C programs' compilers and libraries, audio tools, taskset). */
export const BASE_PACKAGES = [
  'gcc',
  'pkg-config',
  'libmediastreamer-dev',
  'libortp-dev',
  'libbctoolbox-dev',
  'libopus-dev',
  'libcodec2-dev',
  'libbcg729-dev',
  'sox',
  'espeak-ng',
  'util-linux',
];

function pkgConfig(mods: string[]): string[] {
  return execFileSync('pkg-config', ['--cflags', '--libs', ...mods], { encoding: 'utf8' })
    .trim()
    .split(/\s+/);
}

function newer(target: string, sources: string[]): boolean {
  if (!fs.existsSync(target)) return true;
  const t = fs.statSync(target).mtimeMs;
  return sources.some((s) => fs.statSync(s).mtimeMs > t);
}

function compile(name: string, libs: string[], extra: string[] = []): string {
  const src = path.join(NATIVE, `${name}.c`);
  const out = path.join(BUILD, name);
  if (newer(out, [src])) {
    fs.mkdirSync(BUILD, { recursive: true });
    console.error(`bench: building ${path.relative(ROOT, out)}`);
    execFileSync(
      'gcc',
      ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-o', out, src, ...pkgConfig(libs), ...extra],
      {
        stdio: 'inherit',
      },
    );
  }
  return out;
}

export interface Programs {
  loadgen: string;
  plain: string;
}

export function buildPrograms(): Programs {
  return {
    loadgen: compile('loadgen', ['opus', 'codec2', 'mediastreamer'], ['-lbcg729', '-lm']),
    plain: compile('plain-ms2', ['mediastreamer', 'ortp', 'bctoolbox', 'codec2']),
  };
}

export interface Speech {
  src8: string;
  src16: string;
  seconds: number;
}

const TEXT = [
  'Hello, this is the media server benchmark.',
  'We measure how many calls it can carry before packets are late or lost.',
  'Seven, five, three, nine. The quick brown fox jumps over the lazy dog.',
  'Please hold while we connect your call to the next available agent.',
  'Thank you for waiting.',
].join(' ');

/** Speech from espeak-ng, as raw 16-bit mono at 8 and 16 kHz (normalised to -3 dBFS peak). */
export function makeSpeech(): Speech {
  const dir = path.join(BUILD, 'audio');
  const src8 = path.join(dir, 'speech8k.raw');
  const src16 = path.join(dir, 'speech16k.raw');
  if (!fs.existsSync(src8) || !fs.existsSync(src16)) {
    fs.mkdirSync(dir, { recursive: true });
    const wav = path.join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-s', '160', '-w', wav, TEXT]);
    for (const [rate, out] of [
      [8000, src8],
      [16000, src16],
    ] as const)
      execFileSync('sox', [
        wav,
        '-r',
        String(rate),
        '-c',
        '1',
        '-b',
        '16',
        '-e',
        'signed',
        '-t',
        'raw',
        out,
        'norm',
        '-3',
      ]);
  }
  return { src8, src16, seconds: fs.statSync(src8).size / 16000 };
}

/** CPU model and count, for the record. */
export function machine(): { cpus: number; model: string; kernel: string } {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? 'unknown';
  const cpus = (info.match(/^processor\s*:/gm) ?? []).length;
  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return { cpus, model, kernel };
}
