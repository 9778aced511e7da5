/** Package variants: MediaServerOptions overrides measured against the default (run.ts --variants, ab.ts variant=). */
export const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  'no-quality': { quality: false },
  'quality-10s': { quality: { sampleMs: 10000 } },
  'no-rtcp': { rtcp: false, quality: false },
  'rt-tickers': { tickerPriority: 'high' },
  'normal-tickers': { tickerPriority: 'normal' },
  'tick-20': { tickIntervalMs: 20 },
  // plain C gets it too: its graphs then have no PLC either
  'no-plc': { plc: false },
  'no-jb': { jitterBuffer: false },
  'jb-40': { jitterBuffer: { enabled: true, adaptive: true, nominalMs: 40, minMs: 20, maxMs: 300, maxPackets: 100 } },
};
