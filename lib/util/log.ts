import { addon } from '../native';

/**
 * Log level of mediastreamer2/oRTP/bctoolbox on stderr: 0 errors only (the
 * default; RMS_NATIVE_LOG sets it at load), 1 warnings, 2 messages, 3 debug.
 */
export function setNativeLogLevel(level: 0 | 1 | 2 | 3): void {
  addon().setLogLevel(level);
}
