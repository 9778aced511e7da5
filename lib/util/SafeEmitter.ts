import { EventEmitter } from 'node:events';

/**
 * An EventEmitter with typed events whose emit is checked at compile time
 * and never throws: a listener that throws is reported on the object's
 * `listenererror` event (mediasoup's pattern), apart from the operational
 * `error`s the object itself raises; with nobody listening for it, as a
 * process warning. So a faulty listener cannot break the event pump that
 * carries data from the ticker threads.
 */

/** The arguments of event K's listener. */
type Args<E, K extends keyof E> = E[K] extends (...a: infer A) => unknown ? A : never;

export interface ListenerErrorEvents {
  /** A listener of `event` threw `error`; the emitter carried on. */
  listenererror: (event: string, error: unknown) => void;
}

export class SafeEmitter<Events> {
  readonly #ee = new EventEmitter();

  /** Calls `listener` on every `event`; a listener that throws is reported on 'error', the others still run. */
  on<K extends keyof (Events & ListenerErrorEvents) & string>(
    event: K,
    listener: (Events & ListenerErrorEvents)[K],
  ): this {
    this.#ee.on(event, listener as (...args: unknown[]) => void);
    this.listenerAdded(event);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof (Events & ListenerErrorEvents) & string>(
    event: K,
    listener: (Events & ListenerErrorEvents)[K],
  ): this {
    this.#ee.once(event, listener as (...args: unknown[]) => void);
    this.listenerAdded(event);
    return this;
  }

  /** Removes a listener added with on() or once(). */
  off<K extends keyof (Events & ListenerErrorEvents) & string>(
    event: K,
    listener: (Events & ListenerErrorEvents)[K],
  ): this {
    this.#ee.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes every listener of `event`, or of every event. */
  removeAllListeners<K extends keyof (Events & ListenerErrorEvents) & string>(event?: K): this {
    if (event === undefined) this.#ee.removeAllListeners();
    else this.#ee.removeAllListeners(event);
    return this;
  }

  /** How many listeners `event` has. */
  listenerCount<K extends keyof (Events & ListenerErrorEvents) & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }

  /** Subclasses hook this to start native event delivery lazily. */
  protected listenerAdded(_event: string): void {}

  protected safeEmit<K extends keyof Events & string>(event: K, ...args: Args<Events, K>): boolean {
    const listeners = this.#ee.listeners(event);
    for (const l of listeners) {
      try {
        (l as (...a: unknown[]) => void).apply(this, args);
      } catch (err) {
        this.#listenerError(event, err);
      }
    }
    return listeners.length > 0;
  }

  #listenerError(event: string, err: unknown): void {
    const listeners = this.#ee.listeners('listenererror');
    if (listeners.length === 0) {
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), 'RmsListenerError');
      return;
    }
    for (const l of listeners) {
      try {
        (l as (e: string, x: unknown) => void).call(this, event, err);
      } catch (inner) {
        process.emitWarning(inner instanceof Error ? inner : new Error(String(inner)), 'RmsListenerError');
      }
    }
  }
}
