export { encodeEnvLines, generateSecrets, PLACEHOLDERS, SECRET_NAMES, validateSecrets, type SecretName, type SecretSet } from './secret-set.js';
