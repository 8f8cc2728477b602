export {
  encodeEnvLines,
  generateSecrets,
  LEGACY_SECRET_NAMES,
  PLACEHOLDERS,
  SECRET_NAMES,
  validateSecrets,
  type SecretName,
  type SecretSet,
} from './secret-set.js';
export { redact, ROTATE_HOOK, rotateSecrets, type RotateOptions } from './rotate.js';
export { writeClientKeyFile } from './client-key-file.js';
export { RotationError, RotationHookError, isRotationError, type RotationErrorCode } from './errors.js';
