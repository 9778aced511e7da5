import { InvalidArgumentError, InvalidStateError } from '../errors';
import { addon, type NativeForwardPlane, type NativeForwardPlaneStats } from '../native';
import type { LatchMode, RtpEndpoint } from '../rtp/RtpEndpoint';
import { Relay } from './Relay';
import type { ForwardPlaneOptions, RelayOptions } from './types';

const LATCH_MODES: readonly LatchMode[] = ['strict', 'once', 'always'];

function latchOf(v: unknown, what: string): LatchMode | undefined {
  if (v === undefined) return undefined;
  if (!LATCH_MODES.includes(v as LatchMode))
    throw new InvalidArgumentError(`Expected ${what} 'strict', 'once' or 'always' but received ${String(v)}`);
  return v as LatchMode;
}

function ptMapOf(m: Record<number, number> | undefined): [number, number][] | undefined {
  if (m === undefined) return undefined;
  if (m === null || typeof m !== 'object')
    throw new InvalidArgumentError('ptMap must map payload types to payload types');
  return Object.entries(m).map(([k, v]) => [Number(k), v]);
}

/**
 * The forwarding plane: native worker threads (default one per CPU) that
 * relay RTP and RTCP between pairs of endpoints without decoding, without
 * a graph and without JS on the packet path.
 */
export class ForwardPlane {
  #native: NativeForwardPlane | null;
  readonly #relays = new Set<Relay>();
  readonly threads: number;

  constructor(opts: ForwardPlaneOptions = {}) {
    const t = opts.threads ?? 0;
    if (!Number.isInteger(t) || t < 0 || t > 64)
      throw new InvalidArgumentError(`Expected threads 1..64 (or 0 / absent: one per CPU) but received ${String(t)}`);
    this.#native = new (addon().ForwardPlane)(t);
    this.threads = this.#native.stats().threads.length;
  }

  get #open(): NativeForwardPlane {
    if (!this.#native) throw new InvalidStateError('The ForwardPlane is closed');
    return this.#native;
  }

  get closed(): boolean {
    return this.#native === null;
  }

  /** Relays still open. */
  get relays(): number {
    return this.#relays.size;
  }

  /**
   * Starts relaying between two bound endpoints with a remote each. Throws
   * InvalidStateError while a graph runs on either, InUseError when one is
   * relayed already. The plane keeps the relay until close().
   */
  relay(a: RtpEndpoint, b: RtpEndpoint, opts: RelayOptions = {}): Relay {
    const plane = this.#open;
    const latch = opts.latch;
    const la = latchOf(typeof latch === 'object' ? latch.a : latch, 'latch');
    const lb = latchOf(typeof latch === 'object' ? latch.b : latch, 'latch');
    const native = new (addon().Relay)(plane, a.native, b.native, {
      ptMap: ptMapOf(opts.ptMap),
      latchA: la,
      latchB: lb,
      handover: opts.handover === true,
    });
    const r = new Relay(native, a, b, (x) => this.#relays.delete(x));
    this.#relays.add(r);
    return r;
  }

  /** Per worker thread: relays served, datagrams received and sent, wake-ups. */
  stats(): NativeForwardPlaneStats {
    return this.#open.stats();
  }

  /** Closes every relay, then stops the threads. Idempotent. */
  close(): void {
    if (!this.#native) return;
    for (const r of [...this.#relays]) r.close();
    this.#native.close();
    this.#native = null;
  }
}
