/**
 * The stored calls, read at start over one plain connection: AUTH and SELECT
 * when needed, then SCAN and MGET, replies parsed by redis-parser (the RESP
 * parser ioredis itself uses). Why not ioredis here: loading it costs tens of
 * milliseconds of a restart, and until this read is done no restored call
 * has media (issue 19: media again within 100 ms of the process start); the
 * full client (store.ts) is loaded once the calls run, for the writes.
 */
import * as net from 'node:net';
import Parser from 'redis-parser';
import type { RedisTarget } from './redisTarget';

/** RESP: a command as an array of bulk strings. */
function command(...args: string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

/** Every value under `<prefix>call:*`, as stored (JSON text); rejects when Redis does not answer within timeoutMs. */
export async function readStoredCalls(target: RedisTarget, prefix: string, timeoutMs = 2000): Promise<string[]> {
  const sock = net.connect({ host: target.host, port: target.port });
  const replies: ((v: unknown) => void)[] = [];
  let failed: Error | undefined;
  let fail: (e: Error) => void = () => undefined;
  const parser = new Parser({
    returnReply: (r: unknown) => replies.shift()?.(r),
    returnError: (e: Error) => fail(e),
    returnFatalError: (e: Error) => fail(e),
  });
  const done = new Promise<never>((_, reject) => {
    fail = (e) => {
      failed ??= e;
      reject(e);
    };
  });
  done.catch(() => undefined);
  const timer = setTimeout(() => fail(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  sock.on('data', (d) => parser.execute(d));
  sock.on('error', (e) => fail(e));
  sock.on('close', () => fail(new Error('connection closed')));
  const ask = <T>(...args: string[]): Promise<T> => {
    if (failed) return Promise.reject(failed);
    const p = new Promise<T>((resolve) => replies.push(resolve as (v: unknown) => void));
    sock.write(command(...args));
    return Promise.race([p, done]);
  };
  try {
    await Promise.race([new Promise((r) => sock.once('connect', r)), done]);
    if (target.password) await ask('AUTH', target.password);
    if (target.db) await ask('SELECT', String(target.db));
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await ask<[string, string[]]>('SCAN', cursor, 'MATCH', `${prefix}call:*`, 'COUNT', '1000');
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const out: string[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const values = await ask<(string | null)[]>('MGET', ...keys.slice(i, i + 500));
      for (const v of values) if (v !== null) out.push(v);
    }
    return out;
  } finally {
    clearTimeout(timer);
    fail = () => undefined;
    sock.destroy();
  }
}
