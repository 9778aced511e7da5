/**
 * Typed errors. Every error this package throws is an RmsError with a stable
 * `code`; the native addon throws these same classes (see native/errors.h).
 */
export class RmsError extends Error {
  /** Stable machine-readable code, e.g. 'ERR_RMS_MEDIA_FILE' (the message may change, the code does not). */
  readonly code: string;
  constructor(message: string, code = 'ERR_RMS') {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument had the wrong type or value. */
export class InvalidArgumentError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_INVALID_ARGUMENT') {
    super(message, code);
  }
}

/** The object is closed, or not in a state that allows the call. */
export class InvalidStateError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_INVALID_STATE') {
    super(message, code);
  }
}

/** A filter, codec or other name that does not exist; the message lists what does. */
export class UnknownNameError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_UNKNOWN_NAME') {
    super(message, code);
  }
}

/** A link between filter pins that cannot be made or undone. */
export class LinkError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_LINK') {
    super(message, code);
  }
}

/** A graph that cannot run (no source, an unlinked output, already attached). */
export class GraphError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_GRAPH') {
    super(message, code);
  }
}

/** A local UDP port that is already bound by someone else. */
export class AddressInUseError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_ADDRESS_IN_USE') {
    super(message, code);
  }
}

/** Any other failure to bind a socket. */
export class BindError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_BIND') {
    super(message, code);
  }
}

/**
 * A socket could not be made because the process (EMFILE) or the system
 * (ENFILE) is out of file descriptors: the server is at capacity, not the
 * call at fault. See descriptorUsage() for admission before it happens.
 */
export class DescriptorsExhaustedError extends BindError {
  constructor(message: string, code = 'ERR_RMS_DESCRIPTORS') {
    super(message, code);
  }
}

/** A filter method that the filter does not implement, or that failed. */
export class MethodError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_METHOD') {
    super(message, code);
  }
}

/** The object is still used by another (an RtpSession by a filter). */
export class InUseError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_IN_USE') {
    super(message, code);
  }
}

/** Something valid in general that this object cannot do (e.g. silencing a codec without a known silence). */
export class UnsupportedError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_UNSUPPORTED') {
    super(message, code);
  }
}

/** The native addon or one of the system libraries it needs cannot be loaded. */

export class NativeLibraryError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_NATIVE_LIBRARY') {
    super(message, code);
  }
}

/**
 * A media file (prompt, recording) that cannot be used: outside the
 * configured media roots, missing, unreadable, or not a playable WAV.
 */
export class MediaFileError extends RmsError {
  /** The path as given. */
  readonly path: string;
  /** Why it was refused. */
  readonly reason: 'outside-roots' | 'not-found' | 'unreadable' | 'not-wav' | 'not-writable' | 'exists';
  constructor(message: string, path: string, reason: MediaFileError['reason']) {
    super(message, 'ERR_RMS_MEDIA_FILE');
    this.path = path;
    this.reason = reason;
  }
}

/**
 * A control-protocol message (rtpengine "ng": cookie, space, bencoded
 * dictionary) that cannot be read or is not a valid request. `reason` is the
 * text for the reply's `error-reason`; `cookie` is set when the message had
 * one (no cookie: nothing to reply to).
 */
export class ControlProtocolError extends RmsError {
  /** The text for the ng reply's error-reason. */
  readonly reason: string;
  /** The request's cookie, when it had one. */
  cookie?: string;
  constructor(message: string, code = 'ERR_RMS_CONTROL_PROTOCOL', reason = message) {
    super(message, code);
    this.reason = reason;
  }
}

/** An IVR flow document that does not validate; `pointer` is the JSON pointer of the bad node. */
export class FlowError extends RmsError {
  /** JSON pointer of the bad node or field ('' for the whole document). */
  readonly pointer: string;
  constructor(message: string, pointer: string) {
    super(pointer ? `${pointer}: ${message}` : message, 'ERR_RMS_FLOW');
    this.pointer = pointer;
  }
}

/**
 * Malformed, truncated or oversized bencode. `offset` is where in the input
 * the problem was found; `incomplete` is true when the input only ended too
 * early (more bytes of a stream may complete it).
 */
export class BencodeError extends ControlProtocolError {
  /** Where in the input the problem was found. */
  readonly offset: number;
  /** True when the input only ended too early. */
  readonly incomplete: boolean;
  constructor(message: string, offset = 0, incomplete = false, code = 'ERR_RMS_BENCODE') {
    super(message, code);
    this.offset = offset;
    this.incomplete = incomplete;
  }
}

/** The classes the addon instantiates, by code. */
export const errorClassesByCode: Record<string, new (message: string, code: string) => RmsError> = {
  ERR_RMS_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_RMS_INVALID_STATE: InvalidStateError,
  ERR_RMS_UNKNOWN_NAME: UnknownNameError,
  ERR_RMS_LINK: LinkError,
  ERR_RMS_GRAPH: GraphError,
  ERR_RMS_ADDRESS_IN_USE: AddressInUseError,
  ERR_RMS_BIND: BindError,
  ERR_RMS_DESCRIPTORS: DescriptorsExhaustedError,
  ERR_RMS_METHOD: MethodError,
  ERR_RMS_IN_USE: InUseError,
  ERR_RMS_UNSUPPORTED: UnsupportedError,
};

/** A malformed or unusable SDP. */
export class SdpError extends InvalidArgumentError {
  constructor(message: string, code = 'ERR_RMS_SDP') {
    super(message, code);
  }
}

/** An operation named a Call-ID the server does not know. */
export class UnknownCallError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_UNKNOWN_CALL') {
    super(message, code);
  }
}

/** A second, different offer for a call that is still waiting for its answer. */
export class DuplicateOfferError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_DUPLICATE_OFFER') {
    super(message, code);
  }
}

/** The offer and the codecs we support share nothing: the SIP 488 case. */
export class NoCommonCodecError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_NO_COMMON_CODEC') {
    super(message, code);
  }
}

/** No free RTP/RTCP port pair is left in the configured range. */
export class PortsExhaustedError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_PORTS_EXHAUSTED') {
    super(message, code);
  }
}

export type AdmissionReason = 'calls' | 'ticker-load' | 'cpu' | 'ports' | 'descriptors' | 'draining';

/** A new call refused because the server is at a configured limit; calls already admitted go on. */
export class AdmissionError extends RmsError {
  readonly reason: AdmissionReason;
  constructor(message: string, reason: AdmissionReason) {
    super(message, 'ERR_RMS_ADMISSION');
    this.reason = reason;
  }
}
