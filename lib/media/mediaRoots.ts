/**
 * Media roots: the only folders prompts are read from and recordings written
 * to. A path is resolved against the first root when relative, then its real
 * path (symlinks followed) must lie inside the real path of a root, so `..`
 * and symlinks pointing out of a root are refused. Every refusal is a
 * MediaFileError naming the path and the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, MediaFileError } from '../errors';
import { readWavInfo, type WavInfo } from '../util/wav';

export { readWavInfo, type WavInfo } from '../util/wav';

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
   * A path to write inside a root: its folder must exist inside a root, and
   * the name must not be an existing symlink (which could point anywhere).
   */
  resolveForWrite(p: string): string {
    const abs = path.resolve(this.#absolute(p));
    let dir: string;
    try {
      dir = fs.realpathSync(path.dirname(abs));
    } catch {
      throw new MediaFileError(`Folder of ${p} does not exist`, p, 'not-writable');
    }
    const target = path.join(dir, path.basename(abs));
    if (!this.#inside(target)) throw new MediaFileError(`${p} is outside the media roots`, p, 'outside-roots');
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(target);
    } catch {
      st = undefined;
    }
    if (st && !st.isFile()) throw new MediaFileError(`${p} exists and is not a regular file`, p, 'not-writable');
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw new MediaFileError(`Folder of ${p} is not writable`, p, 'not-writable');
    }
    return target;
  }

  /** Resolves for reading and checks it is a 16-bit PCM WAV. */
  wav(p: string): { path: string; info: WavInfo } {
    const real = this.resolveForRead(p);
    return { path: real, info: readWavInfo(real, p) };
  }
}
