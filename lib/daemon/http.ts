/**
 * The daemon's HTTP endpoint (the metrics port): GET /metrics (Prometheus
 * text), /health and /ready (JSON HealthReport; 200 or 503, see health.ts).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from './config';
import type { HealthReport } from './health';
import { silentLogger, type Logger } from './log';

/** What the HTTP endpoint serves. */
export interface HttpEndpoints {
  /** The /metrics text. */
  metrics: () => Promise<string> | string;
  /** Content type of the metrics text (default Prometheus text 0.0.4). */
  contentType?: string;
  /** Without it, /health and /ready answer 200 {"status":"ok"}. */
  health?: () => Promise<HealthReport>;
}

const TEXT_004 = 'text/plain; version=0.0.4; charset=utf-8';

/** Serves the endpoints on `hp`; resolves once listening. */
export function serveMetrics(
  hp: HostPort,
  endpoints: HttpEndpoints | (() => Promise<string> | string),
  log: Logger = silentLogger,
): Promise<http.Server> {
  const ep: HttpEndpoints = typeof endpoints === 'function' ? { metrics: endpoints } : endpoints;
  const handle = async (path: string, res: http.ServerResponse) => {
    if (path === '/metrics') {
      const body = await ep.metrics();
      res.writeHead(200, { 'content-type': ep.contentType ?? TEXT_004 }).end(body);
    } else if (path === '/health' || path === '/ready') {
      const r = ep.health ? await ep.health() : undefined;
      const ok = !r || (path === '/health' ? r.healthy : r.ready);
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify(r ?? { status: 'ok' }) + '\n');
    } else {
      res.writeHead(404).end();
    }
  };
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      handle(path, res).catch((err) => {
        log.error({ err, path }, `http ${path}: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    srv.once('error', reject);
    srv.listen(hp.port, hp.host, () => {
      srv.off('error', reject);
      srv.on('error', (err) => log.error({ err }, `http: ${err.message}`));
      resolve(srv);
    });
  });
}

export function serverAddress(srv: http.Server): AddressInfo {
  return srv.address() as AddressInfo;
}
