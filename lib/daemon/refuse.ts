import { NG_REASONS } from '../control/ng';
import { AdmissionError, ControlProtocolError, DescriptorsExhaustedError, PortsExhaustedError } from '../errors';

/** An ng request that names something we cannot act on: `reason` goes into the reply's error-reason. */
export function refuse(reason: string): never {
  throw new ControlProtocolError(`ng: ${reason}`, 'ERR_RMS_CONTROL_PROTOCOL', reason);
}

/** The ng reason for a refusal Kamailio should fail over on, or undefined for any other error. */
export function loadRefusal(err: unknown): string | undefined {
  if (err instanceof PortsExhaustedError) return NG_REASONS.outOfPorts;
  if (err instanceof AdmissionError)
    return err.reason === 'ports' || err.reason === 'descriptors' ? NG_REASONS.outOfPorts : NG_REASONS.sessionLimit;
  if (err instanceof DescriptorsExhaustedError) return NG_REASONS.outOfPorts;
  return undefined;
}
