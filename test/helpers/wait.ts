/** Waiting in tests: for a while (audio flowing), or until something is true. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns something truthy (which is returned), or
 * throws after `timeoutMs` naming `what`. For conditions, not for timing:
 * the timeout is a bound on a hang, never an assertion on speed.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await sleep(opts.intervalMs ?? 20);
  }
}
