/** rtpengine's --redis form, [PASSWORD@]HOST:PORT[/DB], as the daemon's redis option reads it. */
import { ConfigError } from './optionValues';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
}

export function parseRedisTarget(s: string, where = '--redis'): RedisTarget {
  const m = /^(?:(.*)@)?(\[[0-9a-fA-F:.]+\]|[^:/@[\]]+):(\d{1,5})(?:\/(\d{1,2}))?$/.exec(s.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new ConfigError(
      `${where}: expected [PASSWORD@]HOST:PORT[/DB] (e.g. 127.0.0.1:6379/1), not ${JSON.stringify(s)}`,
    );
  return { host: m[2].replace(/^\[|\]$/g, ''), port, db: m[4] ? Number(m[4]) : 0, password: m[1] || undefined };
}
