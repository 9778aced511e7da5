/**
 * The page headless Chromium opens in the WebRTC test: it sends the fake
 * microphone (a WAV) over an RTCPeerConnection whose offer it POSTs to
 * /offer, plays the remote track in an unmuted <audio> element and records
 * it with WebAudio, then POSTs the PCM (16-bit, 48 kHz mono) to /result and
 * a stats summary to /stats. Anything that goes wrong is POSTed to /log.
 */
export function webrtcPage(recordMs: number): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>rms webrtc test</title></head>
<body><audio id="remote" autoplay></audio>
<script>
const post = (p, body) => fetch(p, { method: 'POST', body });
const log = (...a) => post('/log', a.map(String).join(' '));
window.onerror = (m, s, l) => log('onerror', m, s, l);
(async () => {
  try {
    // no processing: the test tone must arrive as a tone
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    pc.oniceconnectionstatechange = () => log('ice', pc.iceConnectionState);
    pc.onconnectionstatechange = () => log('connection', pc.connectionState);
    const recorded = new Promise((resolve) => {
      pc.ontrack = async (ev) => {
        const remote = new MediaStream([ev.track]);
        const el = document.getElementById('remote');
        el.srcObject = remote;
        el.muted = false;
        await el.play().catch((e) => log('play', e));
        const ctx = new AudioContext({ sampleRate: 48000 });
        await ctx.resume();
        const src = ctx.createMediaStreamSource(remote);
        const proc = ctx.createScriptProcessor(4096, 1, 1);
        const chunks = [];
        let started = 0;
        proc.onaudioprocess = (e) => {
          const d = e.inputBuffer.getChannelData(0);
          // start at the first sound: DTLS and the jitter buffer take a moment
          if (!started) {
            let peak = 0;
            for (const v of d) peak = Math.max(peak, Math.abs(v));
            if (peak < 0.01) return;
            started = performance.now();
          }
          chunks.push(new Float32Array(d));
          if (performance.now() - started > ${recordMs}) {
            proc.onaudioprocess = null;
            resolve(chunks);
          }
        };
        src.connect(proc);
        proc.connect(ctx.destination);
      };
    });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
      setTimeout(r, 3000);
    });
    const res = await post('/offer', pc.localDescription.sdp);
    if (!res.ok) return log('offer refused', res.status, await res.text());
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const chunks = await recorded;
    const stats = { dtls: null, inbound: null, outbound: null, pair: null };
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'transport') stats.dtls = { state: s.dtlsState, role: s.dtlsRole, cipher: s.srtpCipher };
      if (s.type === 'inbound-rtp' && s.kind === 'audio')
        stats.inbound = { packets: s.packetsReceived, lost: s.packetsLost, codec: s.codecId };
      if (s.type === 'outbound-rtp' && s.kind === 'audio') stats.outbound = { packets: s.packetsSent };
      if (s.type === 'candidate-pair' && s.nominated) stats.pair = { state: s.state, rtt: s.currentRoundTripTime };
    });
    await post('/stats', JSON.stringify(stats));
    let n = 0;
    for (const c of chunks) n += c.length;
    const pcm = new Int16Array(n);
    let o = 0;
    for (const c of chunks) for (const v of c) pcm[o++] = Math.round(Math.max(-1, Math.min(1, v)) * 32767);
    await post('/result', pcm.buffer);
    pc.close();
  } catch (e) {
    log('error', (e && e.stack) || e);
  }
})();
</script></body></html>
`;
}
