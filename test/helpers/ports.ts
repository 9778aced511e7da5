/**
 * Port blocks for tests that may run side by side (several test files, or
 * several checkouts on one machine): each block is reserved with lock files
 * in the system temp folder, one per 100-port slot, holding the owner's pid;
 * a lock whose process is gone is taken over. Blocks go back at exit.
 *
 * Two windows: media server port ranges (PortPool) in 40000-59999, and the
 * ports of SIP peers and sockets a test binds itself (findFreePortBlock) in
 * 20000-39999, which are also probed, since programs outside the tests may
 * hold some.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const DIR = path.join(os.tmpdir(), 'rms-test-ports');
const SLOT = 100;
const held: string[] = [];
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockSlot(start: number): boolean {
  const file = path.join(DIR, `slot-${start}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      held.push(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (owner === process.pid || (owner > 0 && alive(owner))) return false;
      fs.rmSync(file, { force: true }); // a test process that died: its slot is free
    }
  }
  return false;
}

function release(files: string[]): void {
  for (const f of files) {
    fs.rmSync(f, { force: true });
    const i = held.indexOf(f);
    if (i >= 0) held.splice(i, 1);
  }
}

/** Reserves `count` consecutive ports (rounded up to 100) in `window`; returns the first. */
export function reservePorts(count: number, window: [number, number]): number {
  fs.mkdirSync(DIR, { recursive: true });
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => release([...held]));
  }
  const slots = Math.max(1, Math.ceil(count / SLOT));
  const first = Math.ceil(window[0] / SLOT);
  const last = Math.floor(window[1] / SLOT) - slots;
  // start somewhere else each time, so that parallel runs rarely contend
  const span = last - first + 1;
  const offset = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const s = first + ((offset + i) % span);
    const mine: string[] = [];
    let ok = true;
    for (let k = 0; k < slots && ok; k++) {
      ok = lockSlot((s + k) * SLOT);
      if (ok) mine.push(held[held.length - 1]);
    }
    if (ok) return s * SLOT;
    release(mine);
  }
  throw new Error(`no free block of ${count} ports in ${window[0]}-${window[1]}`);
}

/** A port range of its own for a MediaServer (default 200 ports: 100 calls). */
export function mediaPorts(count = 200): [number, number] {
  const first = reservePorts(count, [40000, 60000]);
  return [first, first + count - 1];
}

/**
 * Ports for SIP stacks a test creates at load time (it cannot await a
 * probe): 10000-19999, below the kernel's ephemeral range, where nothing but
 * the tests binds.
 */
export function sipPorts(count = 10): number {
  return reservePorts(count, [10000, 20000]);
}
