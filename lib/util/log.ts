import { addon } from '../native';

/**
 * Log level of mediastreamer2/oRTP/bctoolbox on stderr: -1 fatal only, 0
 * errors (the default; RMS_NATIVE_LOG sets it at load), 1 warnings, 2
 * messages, 3 debug.
 */
export function setNativeLogLevel(level: -1 | 0 | 1 | 2 | 3): void {
  addon().setLogLevel(level);
}
