/**
 * RFC 6035 voice quality report bodies (media type application/vq-rtcpxr):
 * the public part of lib/quality/vq/ — the typed model and VqReportError
 * (vq/model.ts), the serializer (vq/format.ts) and the parser (vq/parse.ts).
 */
export {
  VqReportError,
  VQ_ALERT_METRIC_TYPES,
  fromRfc3611Quality,
  percentFromFraction,
  percentFromRfc3611Rate,
  type VqAlert,
  type VqAlertDirection,
  type VqAlertReport,
  type VqAlertSeverity,
  type VqBurstGapLoss,
  type VqDelay,
  type VqDialogId,
  type VqExtensions,
  type VqIntervalReport,
  type VqJitterBuffer,
  type VqMediaAddress,
  type VqMetrics,
  type VqPacketLoss,
  type VqQualityEst,
  type VqReport,
  type VqReportKind,
  type VqSessionDesc,
  type VqSessionReport,
  type VqSignal,
} from './vq/model';
export { formatVqReport } from './vq/format';
export { parseVqReport } from './vq/parse';
