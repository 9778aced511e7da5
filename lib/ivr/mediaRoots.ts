/**
 * Media roots: the only folders prompts are read from and recordings written
 * to. A path is resolved against the first root when relative, then its real
 * path (symlinks followed) must lie inside the real path of a root, so `..`
 * and symlinks pointing out of a root are refused. A file to write is created
 * here, exclusively and without following a link, so a recording never
 * overwrites anything (a prompt, or through a hard link or symlink placed in
 * a root, a file outside). Every refusal is a MediaFileError naming the path
 * and the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, MediaFileError } from '../errors';
import { readWavInfo, type WavInfo } from '../util/wav';

export { readWavInfo, type WavInfo } from '../util/wav';

export interface WriteOptions {
  /**
   * When the name exists: 'refuse' (default) throws MediaFileError reason
   * 'exists'; 'rename' picks NAME-1.wav, NAME-2.wav, ... (for names we made up).
   */
  onExists?: 'refuse' | 'rename';
}

export class MediaRoots {
  readonly roots: readonly string[];

  /** `roots`: existing folders. No roots at all means every path is refused. */
  constructor(roots: readonly string[]) {
    if (!Array.isArray(roots)) throw new InvalidArgumentError('MediaRoots expects an array of folders');
    this.roots = roots.map((r) => {
      if (typeof r !== 'string' || r === '') throw new InvalidArgumentError('A media root must be a folder path');
      let real: string;
      try {
        real = fs.realpathSync(r);
      } catch {
        throw new InvalidArgumentError(`Media root ${r} does not exist`);
      }
      if (!fs.statSync(real).isDirectory()) throw new InvalidArgumentError(`Media root ${r} is not a folder`);
      return real;
    });
  }

  #inside(real: string): boolean {
    return this.roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
  }

  #absolute(p: string): string {
    if (typeof p !== 'string' || p === '' || p.includes('\0'))
      throw new MediaFileError(`Invalid media path ${JSON.stringify(p)}`, String(p), 'not-found');
    if (!this.roots.length)
      throw new MediaFileError(`No media roots are configured; refusing ${p}`, p, 'outside-roots');
    return path.isAbsolute(p) ? p : path.join(this.roots[0], p);
  }

  /** The real path of an existing, readable file inside a root. */
  resolveForRead(p: string): string {
    const abs = this.#absolute(p);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      // refuse paths that point outside before saying "not found", so probing reveals nothing
      if (!this.#inside(path.resolve(abs)))
        throw new MediaFileError(`${p} is outside the media roots`, p, 'outside-roots');
      throw new MediaFileError(`Media file ${p} does not exist`, p, 'not-found');
    }
    if (!this.#inside(real)) throw new MediaFileError(`${p} is outside the media roots`, p, 'outside-roots');
    try {
      if (!fs.statSync(real).isFile()) throw new Error('not a file');
      fs.accessSync(real, fs.constants.R_OK);
    } catch {
      throw new MediaFileError(`Media file ${p} is not a readable file`, p, 'unreadable');
    }
    return real;
  }

  /**
   * Creates a new, empty file to write inside a root and returns its path:
   * its folder's real path must be inside a root, and the file is made with
   * O_CREAT|O_EXCL|O_NOFOLLOW, so an existing name (a prompt, a symlink, a
   * hard link to a file elsewhere) is never opened. The writer (the
   * recorder) then opens the file made here; only someone who can write in
   * the root could swap it in between, and they can write there anyway.
   */
  resolveForWrite(p: string, opts: WriteOptions = {}): string {
    const abs = path.resolve(this.#absolute(p));
    let dir: string;
    try {
      dir = fs.realpathSync(path.dirname(abs));
    } catch {
      throw new MediaFileError(`Folder of ${p} does not exist`, p, 'not-writable');
    }
    const target = path.join(dir, path.basename(abs));
    if (!this.#inside(target)) throw new MediaFileError(`${p} is outside the media roots`, p, 'outside-roots');
    const ext = path.extname(target);
    const stem = target.slice(0, target.length - ext.length);
    const tries = opts.onExists === 'rename' ? 1000 : 1;
    for (let i = 0; i < tries; i++) {
      const name = i === 0 ? target : `${stem}-${i}${ext}`;
      try {
        const flags = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW;
        fs.closeSync(fs.openSync(name, flags, 0o640));
        return name;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
          throw new MediaFileError(`Folder of ${p} is not writable`, p, 'not-writable');
        throw new MediaFileError(`${p} cannot be created: ${code ?? (err as Error).message}`, p, 'not-writable');
      }
    }
    throw new MediaFileError(
      opts.onExists === 'rename'
        ? `${p} and its next 999 numbered names exist`
        : `${p} already exists; a recording never overwrites a file`,
      p,
      'exists',
    );
  }

  /** Resolves for reading and checks it is a 16-bit PCM WAV. */
  wav(p: string): { path: string; info: WavInfo } {
    const real = this.resolveForRead(p);
    return { path: real, info: readWavInfo(real, p) };
  }
}
