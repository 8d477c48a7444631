import { VodCloudError } from './errors.js';

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** The data of a successful openapi-fetch result, or its error thrown as a VodCloudError. */
export function unwrap<D>(result: { data?: D; error?: unknown; response: Response }): D {
  if (result.response.ok) return result.data as D;
  throw VodCloudError.fromResponse(result.response, result.error);
}
