export { QgaClient, type QgaConnectOptions } from './client.js';
export { exec, type ExecOptions, type ExecResult } from './exec.js';
export { readFile, writeFile, type WriteFileOptions } from './files.js';
export { getTime, info, ping, setTime } from './commands.js';
export {
  QgaError,
  QgaConnectError,
  QgaCommandError,
  QgaProtocolError,
  QgaDisconnectedError,
  QgaTimeoutError,
  QgaAbortError,
  QgaInvalidReplyError,
  isQgaError,
  type QgaErrorCode,
} from './errors.js';
