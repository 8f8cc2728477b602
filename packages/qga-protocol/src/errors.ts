import { CodedError, errorGuard } from '@stack/internal';

/** Stable machine-readable codes of every error this package throws. */
export type QgaErrorCode =
  | 'QGA_CONNECT_FAILED'
  | 'QGA_COMMAND_FAILED'
  | 'QGA_PROTOCOL_ERROR'
  | 'QGA_DISCONNECTED'
  | 'QGA_TIMEOUT'
  | 'QGA_ABORTED'
  | 'QGA_INVALID_REPLY';

/** Base class of every error thrown by this package; `code` is stable across versions. */
export class QgaError extends CodedError<QgaErrorCode> {}

/** True for errors of this package, also across copies of it. */
export const isQgaError = errorGuard(QgaError, '@stack/qga-protocol');

/** The agent socket could not be opened. */
export class QgaConnectError extends QgaError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('QGA_CONNECT_FAILED', `cannot connect to the guest agent at ${path}: ${message}`, options);
    this.path = path;
  }
}

/** The agent refused the command ("the remote said no"), e.g. a failed spawn in guest-exec. */
export class QgaCommandError extends QgaError {
  readonly command: string;
  readonly errorClass: string;
  readonly desc: string;
  constructor(command: string, errorClass: string, desc: string) {
    super('QGA_COMMAND_FAILED', `${command}: ${desc} (${errorClass})`);
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

/** The channel carried something that is not the protocol (bad JSON, an id-less error, an oversized line). */
export class QgaProtocolError extends QgaError {
  readonly raw: string;
  constructor(message: string, raw = '') {
    super('QGA_PROTOCOL_ERROR', message);
    this.raw = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
  }
}

/** The connection is gone; pending calls fail with this. */
export class QgaDisconnectedError extends QgaError {
  constructor(message = 'guest agent connection closed', options?: { cause?: unknown }) {
    super('QGA_DISCONNECTED', message, options);
  }
}

/** A call did not complete in time. The channel is marked unsynchronised; the next call resyncs. */
export class QgaTimeoutError extends QgaError {
  readonly timeout: number;
  constructor(what: string, timeout: number) {
    super('QGA_TIMEOUT', `${what} timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** A call was cancelled through its `signal`. */
export class QgaAbortError extends QgaError {
  constructor(what: string, reason: unknown) {
    super('QGA_ABORTED', `${what} was aborted`, { cause: reason });
  }
}

/** A reply did not have the expected shape. */
export class QgaInvalidReplyError extends QgaError {
  readonly command: string;
  constructor(command: string, options?: { cause?: unknown }) {
    super('QGA_INVALID_REPLY', `${command}: reply has an unexpected shape`, options);
    this.command = command;
  }
}
