export type { CreateObjectStoreOptions } from './factory';
export { createObjectStore } from './factory';
export type { FileObjectStoreOptions } from './file-store';
export { FileObjectStore } from './file-store';
export { compareKeys, isValidKey, MAX_KEY_BYTES, validateKey, validatePrefix } from './keys';
export type { CreatePresignedUrlOptions, PresignedParams, PresignMethod, VerifyResult } from './presign';
export { createPresignedUrl, encodeKeyPath, PRESIGN_PATH, verifyPresigned } from './presign';
// The S3 adapter (and the AWS SDK behind it) loads only when an s3:// store is opened; import the class
// itself from '@vodcloud/storage/s3'.
export type { S3ObjectStore, S3ObjectStoreOptions } from './s3-store';
export type {
  ByteRange,
  CompletedPart,
  GetOptions,
  GetResult,
  HeadResult,
  HealthResult,
  ListItem,
  ListOptions,
  ListPage,
  MultipartOptions,
  ObjectBody,
  ObjectStore,
  PartInfo,
  PresignGetOptions,
  PresignPutOptions,
  PutOptions,
  PutResult,
  StorageErrorCode,
} from './types';
export { isStorageError, StorageError } from './types';
