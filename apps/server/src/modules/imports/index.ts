/**
 * The imports module's public surface for other features: downloading a user-given URL into object
 * storage (fetcher.ts), and an HLS playlist's segments into one object (hls.ts). The import job itself
 * (jobs.ts) is wired by the context.
 */
export {
  DEFAULT_USER_AGENT,
  FETCH_ERROR_CODES,
  FetchError,
  type FetchErrorCode,
  type FetchToStorageOptions,
  type FetchToStorageResult,
  fetchToStorage,
  isFetchError,
  type LookupFn,
} from './fetcher';
export {
  type HlsImportOptions,
  type HlsImportResult,
  importHlsToStorage,
  isHlsPlaylist,
} from './hls';
