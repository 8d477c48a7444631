import type { Client } from 'openapi-fetch';
import type { components, paths } from './generated/openapi.js';
import { type Page, unwrap } from './unwrap.js';

export type Recording = components['schemas']['Recording'];
export type RecordingHook = components['schemas']['RecordingHook'];
export type CreatedRecordingHook = components['schemas']['CreatedRecordingHook'];
export type RecordingHookCreate =
  paths['/v1/recording-hooks']['post']['requestBody']['content']['application/json'];
export type RecordingCreate = paths['/v1/recordings']['post']['requestBody']['content']['application/json'];
export type RecordingListQuery = NonNullable<paths['/v1/recordings']['get']['parameters']['query']>;

/** Live recordings (`/v1/recording-hooks`, `/v1/recordings`): recorder hooks and imports by URL. */
export class Recordings {
  constructor(private readonly api: Client<paths>) {}

  /** A hook for nginx-rtmp or SRS; the returned `token` (inside `nginxRtmpUrl` and `srsUrl`) is shown only now. */
  async createHook(body: RecordingHookCreate): Promise<CreatedRecordingHook> {
    return unwrap(await this.api.POST('/v1/recording-hooks', { body }));
  }

  async hooks(query: { limit?: number; cursor?: string } = {}): Promise<Page<RecordingHook>> {
    const page = unwrap(await this.api.GET('/v1/recording-hooks', { params: { query } }));
    return { data: page.data, nextCursor: page.nextCursor };
  }

  /** Deletes a hook: its token stops working at once. */
  async deleteHook(id: string): Promise<void> {
    unwrap(await this.api.DELETE('/v1/recording-hooks/{id}', { params: { path: { id } } }));
  }

  /** Imports a recording by URL (FLV, MP4, TS or an HLS playlist); the video is `videoId`. */
  async create(body: RecordingCreate): Promise<Recording> {
    return unwrap(await this.api.POST('/v1/recordings', { body }));
  }

  async get(id: string): Promise<Recording> {
    return unwrap(await this.api.GET('/v1/recordings/{id}', { params: { path: { id } } }));
  }

  /** Newest first; filter by `streamName` or `status`. */
  async list(query: RecordingListQuery = {}): Promise<Page<Recording>> {
    const page = unwrap(await this.api.GET('/v1/recordings', { params: { query } }));
    return { data: page.data, nextCursor: page.nextCursor };
  }
}
