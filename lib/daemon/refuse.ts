import { ControlProtocolError } from '../errors';

/** An ng request that names something we cannot act on: `reason` goes into the reply's error-reason. */
export function refuse(reason: string): never {
  throw new ControlProtocolError(`ng: ${reason}`, 'ERR_RMS_CONTROL_PROTOCOL', reason);
}
