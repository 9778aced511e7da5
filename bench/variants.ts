/** Package variants: MediaServerOptions overrides measured against the default (run.ts --variants, ab.ts variant=). */
export const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  'no-quality': { quality: false },
  'no-rtcp': { rtcp: false, quality: false },
  'rt-tickers': { tickerPriority: 'high' },
};
