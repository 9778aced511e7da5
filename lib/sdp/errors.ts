import { InvalidArgumentError } from '../errors';

/** A malformed or unusable SDP. */
export class SdpError extends InvalidArgumentError {
  constructor(message: string, code = 'ERR_RMS_SDP') {
    super(message, code);
  }
}
