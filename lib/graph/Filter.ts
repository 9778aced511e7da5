import { InvalidArgumentError, InvalidStateError } from '../errors';
import { constants, type NativeFilter, type NativeFilterInfo } from '../native';
import { SafeEmitter } from '../util/SafeEmitter';
import type { MethodName } from './methods';

/** One notification from a filter, copied off the ticker thread. */
export interface FilterNotification {
  /** ms2 event id (MS_FILTER_EVENT(...)). */
  id: number;
  /** The C macro name of the event when the addon knows it, e.g. 'MS_FILE_PLAYER_EOF'. */
  name?: string;
  /** The event's argument bytes, as the C struct laid them out. */
  payload: Buffer;
  /** Events dropped just before this one because JS fell behind (bounded queue). */
  droppedBefore: number;
}

/** Events of every filter. */
export interface FilterEvents {
  /** Every notification the filter sends. */
  notification: (n: FilterNotification) => void;
  /** After close(). */
  close: () => void;
  /** A listener threw. */
  error: (err: unknown) => void;
}

/** Which pins link() and unlink() join (default 0 and 0). */
export interface LinkOptions {
  /** Output pin of this filter (default 0). */
  from?: number;
  /** Input pin of the destination (default 0). */
  to?: number;
}

let eventNames: Map<number, string> | undefined;
function eventName(id: number): string | undefined {
  if (!eventNames) eventNames = new Map(Object.entries(constants().events).map(([k, v]) => [v, k]));
  return eventNames.get(id);
}

const owners = new WeakMap<NativeFilter, Filter<any>>();

/**
 * An ms2 filter (MSFilter). Link filters into a graph, attach the graph's
 * source to a Ticker, and the ticker thread runs it. Links can change only
 * while the graph is detached. close() frees the filter (it must be detached).
 */
export class Filter<E extends FilterEvents = FilterEvents> extends SafeEmitter<E> {
  #native: NativeFilter | null;
  #listening = false;
  /** The descriptor's name, e.g. 'MSOpusEnc'. */
  readonly name: string;
  /** The MSFilterId of its descriptor. */
  readonly filterId: number;
  /** Input pins. */
  readonly inputs: number;
  /** Output pins. */
  readonly outputs: number;
  /** Codec format for encoders and decoders (e.g. 'opus'). */
  readonly encFmt?: string;

  /** @internal Wraps a native filter; use a Factory to create filters. */
  constructor(native: NativeFilter, listenAtOnce = false) {
    super();
    this.#native = native;
    const info: NativeFilterInfo = native.info();
    this.name = info.name;
    this.filterId = info.id;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.encFmt = info.encFmt;
    owners.set(native, this);
    if (listenAtOnce) this.startNotifications();
  }

  /** @internal */
  static ownerOf(native: NativeFilter | null): Filter<any> | undefined {
    return native ? owners.get(native) : undefined;
  }

  /** @internal The native handle; throws once closed. */
  get native(): NativeFilter {
    if (!this.#native) throw new InvalidStateError(`Filter ${this.name} is closed`);
    return this.#native;
  }

  /** True once close() freed the native filter. */
  get closed(): boolean {
    return this.#native === null;
  }

  /** True while its graph runs on a ticker. */
  get attached(): boolean {
    return this.#native !== null && this.#native.isAttached();
  }

  /**
   * Links an output pin of this filter to an input pin of `dst` and returns
   * `dst`, so chains read left to right: `recv.link(dec).link(enc).link(send)`.
   */
  link<T extends Filter<any>>(dst: T, opts: LinkOptions = {}): T {
    this.native.link(opts.from ?? 0, dst.native, opts.to ?? 0);
    return dst;
  }

  /** Removes the link made by link() with the same pins; only while the graph is detached. */
  unlink(dst: Filter<any>, opts: LinkOptions = {}): void {
    this.native.unlink(opts.from ?? 0, dst.native, opts.to ?? 0);
  }

  /** Current links of this filter's pins. */
  links(): {
    /** Whether the link enters (in) or leaves (out) this filter. */
    dir: 'in' | 'out';
    /** This filter's pin. */
    pin: number;
    /** The filter at the other end (undefined if it is not one of ours). */
    peer: Filter<any> | undefined;
    /** The other filter's pin. */
    peerPin: number;
  }[] {
    return this.native.links().map((l) => ({ ...l, peer: Filter.ownerOf(l.peer) }));
  }

  /** Whether the filter implements an ms2 method (by its C macro name). */
  hasMethod(method: MethodName): boolean {
    return this.native.hasMethod(methodInfo(method).id);
  }

  /**
   * Calls a bridged ms2 method by its C macro name. Prefer the typed helpers;
   * this is the escape hatch for methods without one.
   */
  call(method: MethodName, arg?: number | string | boolean | Buffer | object): number | boolean | Buffer | undefined {
    const m = methodInfo(method);
    return this.native.call(m.id, arg);
  }

  /** MS_FILTER_SET_SAMPLE_RATE: the rate the filter works at (input rate for resamplers). */
  setSampleRate(hz: number): void {
    this.call('MS_FILTER_SET_SAMPLE_RATE', hz);
  }

  /** MS_FILTER_GET_SAMPLE_RATE. */
  getSampleRate(): number {
    return this.call('MS_FILTER_GET_SAMPLE_RATE') as number;
  }

  /** MS_FILTER_SET_OUTPUT_SAMPLE_RATE (resamplers). */
  setOutputSampleRate(hz: number): void {
    this.call('MS_FILTER_SET_OUTPUT_SAMPLE_RATE', hz);
  }

  /** MS_FILTER_SET_NCHANNELS: input channels. */
  setChannels(n: number): void {
    this.call('MS_FILTER_SET_NCHANNELS', n);
  }

  /** MS_FILTER_GET_NCHANNELS. */
  getChannels(): number {
    return this.call('MS_FILTER_GET_NCHANNELS') as number;
  }

  /** MS_FILTER_SET_OUTPUT_NCHANNELS (resamplers: 2 -> 1 mixes down). */
  setOutputChannels(n: number): void {
    this.call('MS_FILTER_SET_OUTPUT_NCHANNELS', n);
  }

  /** MS_FILTER_SET_BITRATE, bits per second (encoders). */
  setBitrate(bps: number): void {
    this.call('MS_FILTER_SET_BITRATE', bps);
  }

  /** MS_FILTER_GET_BITRATE. */
  getBitrate(): number {
    return this.call('MS_FILTER_GET_BITRATE') as number;
  }

  /** MS_FILTER_ADD_FMTP: an SDP fmtp string ("useinbandfec=1"), for codecs. */
  addFmtp(fmtp: string): void {
    this.call('MS_FILTER_ADD_FMTP', fmtp);
  }

  /**
   * Frees the filter. Idempotent. Throws InvalidStateError while the filter's
   * graph is attached to a ticker (detach first, or close the Graph).
   */
  close(): void {
    if (!this.#native) return;
    this.#native.close();
    this.#native = null;
    this.#emitOwn('close');
  }

  // a subclass's event map extends FilterEvents: these events are always there
  #emitOwn(event: 'close'): void;
  #emitOwn(event: 'notification', n: FilterNotification): void;
  #emitOwn(event: 'close' | 'notification', n?: FilterNotification): void {
    (this.safeEmit as (e: string, ...a: unknown[]) => boolean)(event, ...(n ? [n] : []));
  }

  /** @internal Marks the filter closed after a cascading close freed it natively. */
  markClosed(): void {
    if (!this.#native) return;
    this.#native = null;
    this.#emitOwn('close');
  }

  protected override listenerAdded(event: string): void {
    if (event !== 'close' && event !== 'error') this.startNotifications();
  }

  /** Starts native event delivery; must happen before the graph is attached. */
  protected startNotifications(): void {
    if (this.#listening || !this.#native) return;
    if (this.#native.isAttached())
      throw new InvalidStateError(`Add event listeners to ${this.name} before its graph is attached to a ticker`);
    this.#listening = true;
    this.#native.onNotify((id, payload, droppedBefore) => {
      if (!this.#native) return;
      const n: FilterNotification = { id, name: eventName(id), payload, droppedBefore };
      this.#emitOwn('notification', n);
      this.onNotification(n);
    });
  }

  /** Subclasses turn raw notifications into typed events. */
  protected onNotification(_n: FilterNotification): void {}
}

export function methodInfo(method: MethodName) {
  const m = constants().methods[method];
  if (!m) throw new InvalidArgumentError(`Unknown filter method ${method}`);
  return m;
}
