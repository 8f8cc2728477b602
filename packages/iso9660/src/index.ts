export { buildIso, writeIso, type CreateIsoOptions, type IsoResult } from './writer.js';
export { entriesFromDirectory } from './source-fs.js';
export { IsoReader, type IsoListing, type VolumeInfo } from './reader.js';
export { extractIso, type ExtractOptions, type ExtractResult } from './extract.js';
export type { FileData, IsoEntry } from './tree.js';
export { IsoError, isIsoError, type IsoErrorCode } from './errors.js';
