/**
 * The package as the server under test in bench/secure-cost.ts, in a process
 * of its own: N relayed PCMU calls through Gateways on one ticker, leg a
 * plain or SDES-SRTP (AES_CM_128_HMAC_SHA1_80), leg b plain.
 *
 *   node dist/bench/targets/secure-server.js '<json config>'
 *   config: { calls, gen: { a, b }, keys?: [{ genSend, srvSend }] (base64, one per call) }
 * Prints { pid, legs: [{ a, b }] } once the calls are set up, then runs until stdin closes.
 */
import { Gateway } from '../../lib/gateway/Gateway';
import { Ticker } from '../../lib/graph/Ticker';
import { RtpEndpoint } from '../../lib/rtp/RtpEndpoint';

interface Config {
  calls: number;
  gen: { a: number; b: number };
  keys?: { genSend: string; srvSend: string }[];
}

const cfg = JSON.parse(process.argv[2]) as Config;
const ticker = new Ticker({ name: 'secure-bench' });
const gateways: Gateway[] = [];
const legs: { a: number; b: number }[] = [];
for (let i = 0; i < cfg.calls; i++) {
  const a = new RtpEndpoint({ address: '127.0.0.1', remote: { address: '127.0.0.1', port: cfg.gen.a } });
  const k = cfg.keys?.[i];
  if (k)
    a.setSrtp({
      send: { suite: 'AES_CM_128_HMAC_SHA1_80', key: Buffer.from(k.srvSend, 'base64') },
      recv: { suite: 'AES_CM_128_HMAC_SHA1_80', key: Buffer.from(k.genSend, 'base64') },
    });
  const b = new RtpEndpoint({ address: '127.0.0.1', remote: { address: '127.0.0.1', port: cfg.gen.b } });
  gateways.push(new Gateway({ a: { endpoint: a, codec: 'PCMU' }, b: { endpoint: b, codec: 'PCMU' }, ticker }));
  legs.push({ a: a.port, b: b.port });
}
process.stdout.write(JSON.stringify({ pid: process.pid, legs }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => {
  for (const g of gateways) g.close();
  ticker.close();
  process.exit(0);
});
