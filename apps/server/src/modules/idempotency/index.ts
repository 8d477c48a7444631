export { registerIdempotency } from './hooks';
export { IdempotencyStore, KEEP_MS, keyId, requestHash } from './store';
