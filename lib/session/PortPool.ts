import { AddressInUseError, PortsExhaustedError } from '../errors';
import { RtpEndpoint, type RtpEndpointOptions } from '../rtp/RtpEndpoint';

/**
 * Even RTP ports with RTCP on the next odd one, from a configured range.
 * Ports return to the pool when the endpoint is closed through release();
 * a port someone else holds is skipped (and retried on a later round).
 */
export class PortPool {
  readonly min: number;
  readonly max: number;
  readonly #free: number[] = [];
  readonly #used = new Set<number>();
  #last?: number;

  constructor(range: [number, number]) {
    let [min, max] = range;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || max - min < 1)
      throw new RangeError(`Expected a port range [min, max] within 1024..65535 but received [${range}]`);
    if (min % 2) min++;
    if (max % 2 === 0) max--;
    this.min = min;
    this.max = max;
    for (let p = min; p + 1 <= max; p += 2) this.#free.push(p);
  }

  get size(): number {
    return this.#free.length + this.#used.size;
  }

  /** Port pairs not in use. */
  get free(): number {
    return this.#free.length;
  }

  get inUse(): number {
    return this.#used.size;
  }

  /** The RTP port of the pair bound last, if any was. */
  get last(): number | undefined {
    return this.#last;
  }

  /** Binds an endpoint on the next free pair (least recently used first), none of `skip`. */
  bind(opts: Omit<RtpEndpointOptions, 'port' | 'rtcpPort'>, skip?: ReadonlySet<number>): RtpEndpoint {
    const tries = this.#free.length;
    for (let i = 0; i < tries; i++) {
      const port = this.#free.shift()!;
      if (skip?.has(port)) {
        this.#free.push(port);
        continue;
      }
      try {
        const ep = new RtpEndpoint({ ...opts, port, rtcpPort: port + 1 });
        this.#used.add(port);
        this.#last = port;
        return ep;
      } catch (err) {
        this.#free.push(port); // taken by someone else now; try it again later
        if (!(err instanceof AddressInUseError)) throw err;
      }
    }
    throw new PortsExhaustedError(
      `No free RTP port pair in ${this.min}-${this.max} (${this.#used.size} pairs in use by us, the rest held by other processes)`,
    );
  }

  /**
   * Binds the pair starting at `port` (a restored call's ports): taken out of
   * the free list; AddressInUseError if something else holds it.
   */
  bindExact(port: number, opts: Omit<RtpEndpointOptions, 'port' | 'rtcpPort'>): RtpEndpoint {
    if (port < this.min || port + 1 > this.max || port % 2)
      throw new RangeError(`Port ${port} is not an RTP port of the range ${this.min}-${this.max}`);
    if (this.#used.has(port)) throw new AddressInUseError(`Port pair ${port}/${port + 1} is in use by another call`);
    const ep = new RtpEndpoint({ ...opts, port, rtcpPort: port + 1 });
    const i = this.#free.indexOf(port);
    if (i >= 0) this.#free.splice(i, 1);
    this.#used.add(port);
    this.#last = port;
    return ep;
  }

  /** Closes the endpoint and returns its ports to the pool. */
  release(ep: RtpEndpoint): void {
    ep.close();
    if (this.#used.delete(ep.port)) this.#free.push(ep.port);
  }
}
