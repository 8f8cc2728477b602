import { CodedError, errorGuard } from '@stack/internal';

/** Stable machine-readable codes of every error this package throws. */
export type QmpErrorCode =
  | 'QMP_CONNECT_FAILED'
  | 'QMP_COMMAND_FAILED'
  | 'QMP_PROTOCOL_ERROR'
  | 'QMP_DISCONNECTED'
  | 'QMP_TIMEOUT'
  | 'QMP_ABORTED'
  | 'QMP_INVALID_REPLY';

/** Base class of every error thrown by this package; `code` is stable across versions. */
export class QmpError extends CodedError<QmpErrorCode> {}

/** True for errors of this package, also across copies of it (realm- and version-safe). */
export const isQmpError = errorGuard(QmpError, '@stack/qmp-protocol');

/** The socket could not be opened, or no greeting/negotiation happened in time. */
export class QmpConnectError extends QmpError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('QMP_CONNECT_FAILED', `cannot connect to QMP at ${path}: ${message}`, options);
    this.path = path;
  }
}

/** The server understood the command and refused it ("the remote said no"). */
export class QmpCommandError extends QmpError {
  /** QAPI error class, e.g. `GenericError`, `CommandNotFound`, `DeviceNotFound`. */
  readonly errorClass: string;
  /** Human-readable description from the server; never parse it (qmp-spec). */
  readonly desc: string;
  readonly command: string;
  constructor(command: string, errorClass: string, desc: string) {
    super('QMP_COMMAND_FAILED', `${command}: ${desc} (${errorClass})`);
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

/** The byte stream broke the protocol (bad JSON, an id-less error, an oversized line, a bad greeting). */
export class QmpProtocolError extends QmpError {
  /** The offending text, cut to 200 characters. */
  readonly raw: string;
  constructor(message: string, raw = '', options?: { cause?: unknown }) {
    super('QMP_PROTOCOL_ERROR', message, options);
    this.raw = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
  }
}

/** The connection is gone (closed by us, by the peer, or lost); pending calls fail with this. */
export class QmpDisconnectedError extends QmpError {
  constructor(message = 'QMP connection closed', options?: { cause?: unknown }) {
    super('QMP_DISCONNECTED', message, options);
  }
}

/** A call did not complete within its `timeout`. */
export class QmpTimeoutError extends QmpError {
  readonly timeout: number;
  constructor(what: string, timeout: number) {
    super('QMP_TIMEOUT', `${what} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** A call was cancelled through its `signal`. */
export class QmpAbortError extends QmpError {
  constructor(what: string, reason: unknown) {
    super('QMP_ABORTED', `${what} was aborted`, { cause: reason });
  }
}

/** A reply did not have the shape the typed helper expects (zod validation failed). */
export class QmpInvalidReplyError extends QmpError {
  readonly command: string;
  constructor(command: string, options?: { cause?: unknown }) {
    super('QMP_INVALID_REPLY', `${command}: reply has an unexpected shape`, options);
    this.command = command;
  }
}
