export type { CreateObjectStoreOptions } from './factory';
export { createObjectStore } from './factory';
export type { FileObjectStoreOptions } from './file-store';
export { FileObjectStore } from './file-store';
export { compareKeys, isValidKey, MAX_KEY_BYTES, validateKey, validatePrefix } from './keys';
export type { CreatePresignedUrlOptions, PresignedParams, PresignMethod, VerifyResult } from './presign';
export { createPresignedUrl, encodeKeyPath, PRESIGN_PATH, verifyPresigned } from './presign';
export type { S3ObjectStoreOptions } from './s3-store';
export { mapS3Error, S3ObjectStore } from './s3-store';
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
