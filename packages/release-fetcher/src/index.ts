export { digestsEqual, parseDigest, parseSha256Sidecar, sha256File, type Sha256 } from './digest.js';
export { download, discardPart, type DownloadOptions, type DownloadResult } from './download.js';
export { fetchImage, type FetchImageOptions, type FetchImageResult } from './fetch-image.js';
export { getRelease, listReleases, type GitHubOptions, type Release, type ReleaseAsset } from './github.js';
export { artifactName, DEFAULT_REPO, describeSource, imageAssetName, imageSourceSchema, releaseTag, type ImageSource } from './sources.js';
export { httpGet, type HttpGetOptions, type HttpGetResponse } from './http-get.js';
export { formatBytes, type Progress } from './progress.js';
export { extractZipEntry, isSafeEntryName, listZip, type ZipEntry } from './zip.js';
export { FetchError, isFetchError, type FetchErrorCode } from './errors.js';
