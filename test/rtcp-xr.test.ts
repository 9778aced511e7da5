import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Ticker } from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { tone, writeWav } from '../lib/util/wav';
import { type NativeRtcpPacket } from '../lib/native';
import { tmpDir } from './helpers/call';
import { UdpRelay } from './helpers/relay';
import { sleep } from './helpers/wait';

describe('RTCP and RTCP XR (RFC 3611) on every endpoint', () => {
  it('each side receives the other SR/RR and XR blocks (rcvr-rtt, stat-summary, voip-metrics), consistent with the sender', async () => {
    const dir = tmpDir('rms-xr-');
    const wav = path.join(dir, 't.wav');
    writeWav(wav, tone(8000, 5, [440]));
    const t = new Ticker({ name: 'xr' });
    const a = new AudioPeer({ codec: 'PCMU', sendFile: wav, recordFile: path.join(dir, 'a.wav') });
    const b = new AudioPeer({ codec: 'PCMA', payloadType: 0, sendFile: wav, recordFile: path.join(dir, 'b.wav') });
    try {
      for (const p of [a, b]) {
        p.endpoint.setRtcpInterval(500);
        p.endpoint.collectRtcp();
      }
      // what B reports about the audio it receives from A
      b.endpoint.setXrMedia({ plc: 'silence', signalLevel: -20, noiseLevel: -62, mosCq: 4.1, mosLq: 4.3 });
      a.endpoint.setRemote({ address: '127.0.0.1', port: b.port });
      b.endpoint.setRemote({ address: '127.0.0.1', port: a.port });
      a.start(t);
      b.start(t);
      await sleep(3000);
      const got = a.endpoint.pollRtcp().filter((p) => p.direction === 'received');
      const bAll = b.endpoint.pollRtcp();
      const sent = bAll.filter((p) => p.direction === 'emitted');
      const bSsrc = b.endpoint.info().sendSsrc;
      const aSsrc = a.endpoint.info().sendSsrc;
      assert.ok(sent.length > 0, 'B emitted RTCP');
      const srs = got.filter(
        (p): p is Extract<NativeRtcpPacket, { type: 'SR' | 'RR' }> => p.type === 'SR' || p.type === 'RR',
      );
      assert.ok(srs.length >= 2, `A received ${srs.length} SR/RR`);
      assert.ok(srs.every((p) => p.ssrc === bSsrc));
      // B's report block is about A's stream: its highest sequence follows what A sent
      const last = srs[srs.length - 1];
      const block = last.reports.find((r) => r.ssrc === aSsrc);
      assert.ok(block, 'a report block about A');
      assert.ok(
        block.highestSeq > 50 && block.highestSeq <= a.endpoint.stats().packetsSent + 65536,
        `highest seq ${block.highestSeq}`,
      );
      assert.equal(block.cumulativeLost, 0);
      const xr = got.filter((p): p is Extract<NativeRtcpPacket, { type: 'XR' }> => p.type === 'XR').map((p) => p.xr);
      const kinds = new Set(xr.map((x) => x.block));
      for (const k of ['rcvr-rtt', 'stat-summary', 'voip-metrics'])
        assert.ok(kinds.has(k), `XR ${k} received (got ${[...kinds]})`);
      const vm = xr.filter((x) => x.block === 'voip-metrics').pop()!;
      assert.equal(vm.sourceSsrc, aSsrc, 'VoIP metrics are about A');
      assert.equal(vm.jbNominal, 60, "B's jitter buffer nominal delay, as configured");
      assert.equal(vm.gmin, 16);
      // A set no media values: its blocks say unavailable (127), not a made-up number
      const fromA = bAll
        .filter((p): p is Extract<NativeRtcpPacket, { type: 'XR' }> => p.direction === 'received' && p.type === 'XR')
        .map((p) => p.xr)
        .filter((x) => x.block === 'voip-metrics');
      assert.ok(fromA.length > 0, 'B received VoIP metrics from A');
      for (const k of ['signalLevel', 'noiseLevel', 'mosLq', 'mosCq', 'rFactor'])
        assert.equal(fromA[0][k], 127, `${k} unavailable`);
      assert.equal(vm.lossRate, 0);
      assert.equal(vm.signalLevel, -20);
      assert.equal(vm.noiseLevel, -62);
      assert.equal(vm.mosCq, 41, 'MOS-CQ x 10');
      assert.equal(vm.mosLq, 43, 'MOS-LQ x 10');
      assert.equal((vm.rxConfig as number) >> 6, 1, 'PLC: disabled/silence insertion (RFC 3611 rx config bits 01)');
    } finally {
      a.close();
      b.close();
      t.close();
    }
  });
});

describe('remote metrics agree with the other side', () => {
  it("the loss A reads in B's XR VoIP metrics is the loss B counted locally", async () => {
    const dir = tmpDir('rms-xr2-');
    const wav = path.join(dir, 't.wav');
    writeWav(wav, tone(8000, 5, [440]));
    const t = new Ticker({ name: 'xr2' });
    const a = new AudioPeer({ codec: 'PCMU', sendFile: wav, recordFile: path.join(dir, 'a.wav') });
    const b = new AudioPeer({ codec: 'PCMU', sendFile: wav, recordFile: path.join(dir, 'b.wav') });
    // A -> relay (drops every 8th packet) -> B
    const relay = await UdpRelay.create({ gateway: { address: '127.0.0.1', port: b.port } });
    relay.dropToGateway = (n) => n % 8 === 4;
    try {
      for (const p of [a, b]) {
        p.endpoint.setRtcpInterval(700);
        p.endpoint.collectRtcp();
      }
      a.endpoint.setRemote({ address: '127.0.0.1', port: relay.farPort, rtcpPort: b.endpoint.rtcpPort });
      b.endpoint.setRemote({ address: '127.0.0.1', port: relay.nearPort, rtcpPort: a.endpoint.rtcpPort });
      relay.setPeer({ address: '127.0.0.1', port: a.port });
      a.start(t);
      b.start(t);
      await sleep(3500);
      const bStats = b.endpoint.stats();
      const bLocal = bStats.lost / (bStats.packetsReceived + bStats.lost);
      const vm = a.endpoint
        .pollRtcp()
        .filter((p): p is Extract<NativeRtcpPacket, { type: 'XR' }> => p.direction === 'received' && p.type === 'XR')
        .map((p) => p.xr)
        .filter((x) => x.block === 'voip-metrics')
        .pop();
      assert.ok(vm, 'A received VoIP metrics from B');
      const remoteLoss = (vm.lossRate as number) / 256;
      assert.ok(Math.abs(bLocal - 0.125) < 0.03, `B counted ${bLocal}`);
      assert.ok(Math.abs(remoteLoss - bLocal) < 0.03, `A read ${remoteLoss}, B counted ${bLocal}`);
    } finally {
      a.close();
      b.close();
      relay.close();
      t.close();
    }
  });
});
