export { digestsEqual, parseDigest, parseSha256Sidecar, sidecarUrl, type Sha256 } from './digest.js';
export { download, type DownloadOptions, type DownloadResult } from './download.js';
export { discardPart } from './part-file.js';
export { fetchImage, type FetchImageOptions, type FetchImageResult } from './fetch-image.js';
export {
  getRelease,
  getRepoFile,
  listReleases,
  type GitHubOptions,
  type Release,
  type ReleaseAsset,
} from './github.js';
export { openNetwork, type Network, type NetworkOptions } from './network.js';
export { proxyFor, proxySettings, type ProxySettings } from './proxy-settings.js';
export { loadTrustStore, type TrustOptions, type TrustStore } from './trust-store.js';
export type { StallPolicy } from './stall-guard.js';
export {
  artifactName,
  DEFAULT_REPO,
  describeSource,
  imageAssetName,
  imageSourceSchema,
  releaseTag,
  type ImageSource,
} from './sources.js';
export { formatBytes, type Progress } from './progress.js';
export { FetchError, isFetchError, type FetchErrorCode } from './errors.js';
