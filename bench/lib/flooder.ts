/**
 * A bounded UDP flooder for bench/attacks.ts, run as a child process so the
 * bench's own event loop stays free to time the control commands:
 *
 *   node dist/bench/lib/flooder.js KIND LOCAL_RTP_PORT TARGET_HOST TARGET_RTP_PORT SECONDS RATE
 *
 * It plays phone A: from LOCAL_RTP_PORT it sends 20 ms PCMU (so the call has
 * media), and, for SECONDS at RATE datagrams/s, KIND:
 *   rr    RTCP RR+SDES compounds from LOCAL_RTP_PORT+1 to TARGET_RTP_PORT+1
 *   xr    RTCP XR VoIP-metrics packets, same ports
 *   bad   malformed RTCP (an SR counting a block it lacks, XR blocks cut short)
 *   dtmf  RFC 4733 packets, each a new event, on the RTP ports
 * Prints the number of flood datagrams sent on exit.
 */
import * as dgram from 'node:dgram';

const [kind, localArg, host, targetArg, secondsArg, rateArg] = process.argv.slice(2);
const local = Number(localArg);
const target = Number(targetArg);
const seconds = Number(secondsArg);
const rate = Number(rateArg);

function rr(): Buffer {
  const b = Buffer.alloc(8 + 24 + 16);
  b.writeUInt32BE(0x81c90007, 0); // V=2, RC=1, RR, 8 words
  b.writeUInt32BE(0x5eed5eed, 4);
  b.writeUInt32BE(0x12345678, 8);
  b.writeUInt32BE(0x81ca0003, 32); // SDES, one chunk
  b.writeUInt32BE(0x5eed5eed, 36);
  b.writeUInt32BE(0x01036162, 40); // CNAME "abc"
  b.writeUInt32BE(0x63000000, 44);
  return b;
}

function xr(): Buffer {
  const b = Buffer.alloc(8 + 4 + 32);
  b.writeUInt32BE(0x80cf000a, 0); // XR, 11 words
  b.writeUInt32BE(0x5eed5eed, 4);
  b.writeUInt32BE(0x07000008, 8); // VoIP metrics, block length 8
  b.writeUInt32BE(0x12345678, 12);
  return b;
}

function bad(n: number): Buffer {
  const sr = Buffer.alloc(28);
  sr.writeUInt32BE(0x81c80006, 0); // SR counting 1 block, with room for none
  if (n % 3 === 0) return sr;
  const x = Buffer.alloc(8 + 4 + 16);
  x.writeUInt32BE(0x80cf0006, 0);
  x.writeUInt32BE(n % 3 === 1 ? 0x06000009 : 0x05000003, 8); // stat summary / DLRR longer than the packet
  return x;
}

function dtmf(n: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0x80;
  b[1] = 101;
  b.writeUInt16BE(n & 0xffff, 2);
  b.writeUInt32BE((n * 160) >>> 0, 4);
  b.writeUInt32BE(0x4733, 8);
  b[12] = n % 16;
  b[13] = 10;
  b.writeUInt16BE(160, 14);
  return b;
}

async function bind(port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return s;
}

async function main(): Promise<void> {
  const rtp = await bind(local);
  const rtcp = await bind(local + 1);
  let seq = 0;
  const pcmu = Buffer.alloc(12 + 160, 0xff);
  const media = setInterval(() => {
    pcmu[0] = 0x80;
    pcmu[1] = 0;
    pcmu.writeUInt16BE(seq & 0xffff, 2);
    pcmu.writeUInt32BE((seq * 160) >>> 0, 4);
    pcmu.writeUInt32BE(0xa11ce, 8);
    seq++;
    rtp.send(pcmu, target, host);
  }, 20);
  await new Promise((r) => setTimeout(r, 500)); // media first, so the call is latched and running
  const end = Date.now() + seconds * 1000;
  const perTick = Math.max(1, Math.round(rate / 200));
  let n = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      for (let i = 0; i < perTick; i++, n++) {
        if (kind === 'dtmf') rtp.send(dtmf(n), target, host);
        else rtcp.send(kind === 'xr' ? xr() : kind === 'bad' ? bad(n) : rr(), target + 1, host);
      }
      if (Date.now() < end) setTimeout(tick, 5);
      else resolve();
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 1000)); // media goes on a little after the flood
  clearInterval(media);
  rtp.close();
  rtcp.close();
  process.stdout.write(`${n}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err}\n`);
  process.exit(1);
});
