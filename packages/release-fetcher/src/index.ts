export { digestsEqual, parseDigest, parseSha256Sidecar, sha256File, type Sha256 } from './digest.js';
