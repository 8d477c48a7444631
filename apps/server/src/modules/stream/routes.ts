import type { ObjectStore } from '@vodcloud/storage';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/connect';
import type { VideosTable } from '../../db/schema';
import { sendProblem } from '../../http/problem';
import { open } from '../../lib/secretbox';
import { sendObject } from './send-object';

const PID = /^[A-Za-z0-9_-]{10,40}$/;
const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const SEGMENT = /^seg-\d{5}\.ts$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PLAYLIST = 'public, max-age=2';

export interface StreamDeps {
  db: Database;
  storage: ObjectStore;
  secret: string;
}

/**
 * The stream role: playlists, segments, AES keys, progressive MP4, poster and storyboard of published
 * videos. Objects of a generation never change, so they are served immutable; playlists briefly cached.
 * This serves public playback; signed tokens and referrer rules come with the playback issue.
 */
export function streamRoutes(app: FastifyInstance, d: StreamDeps): void {
  const find = async (
    req: FastifyRequest,
    reply: FastifyReply,
    pid: string,
  ): Promise<VideosTable | undefined> => {
    if (!PID.test(pid)) {
      sendProblem(reply, 'not_found', 'Not found');
      return undefined;
    }
    const row = await d.db.read((k) =>
      k.selectFrom('videos').selectAll().where('playback_id', '=', pid).executeTakeFirst(),
    );
    if (!row?.published_generation || row.status === 'blocked') {
      sendProblem(reply, 'not_found', 'Not found');
      return undefined;
    }
    if (row.playback_policy !== 'public') {
      sendProblem(reply, 'forbidden', 'This video needs a signed playback token');
      return undefined;
    }
    reply.header('access-control-allow-origin', '*');
    void req;
    return row;
  };
  const prefix = (row: VideosTable) => `${row.tenant_id}/${row.id}/${row.published_generation}`;
  const cors = (reply: FastifyReply) => reply.header('access-control-allow-origin', '*');

  app.get<{ Params: { pid: string } }>(
    '/hls/:pid/master.m3u8',
    { schema: { hide: true } },
    async (req, reply) => {
      const row = await find(req, reply, req.params.pid);
      if (!row) return reply;
      return sendObject(req, reply, d.storage, `${prefix(row)}/hls/master.m3u8`, {
        contentType: 'application/vnd.apple.mpegurl',
        cacheControl: PLAYLIST,
      });
    },
  );

  app.get<{ Params: { pid: string; name: string; file: string } }>(
    '/hls/:pid/:name/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      const { name, file } = req.params;
      if (!(NAME.test(name) && (file === 'index.m3u8' || SEGMENT.test(file))))
        return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, req.params.pid);
      if (!row) return reply;
      const playlist = file === 'index.m3u8';
      return sendObject(req, reply, d.storage, `${prefix(row)}/hls/${name}/${file}`, {
        contentType: playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
        cacheControl: playlist ? PLAYLIST : IMMUTABLE,
      });
    },
  );

  app.get<{ Params: { pid: string } }>('/hls/:pid/key', { schema: { hide: true } }, async (req, reply) => {
    const row = await find(req, reply, req.params.pid);
    if (!row) return reply;
    if (!row.hls_key) return sendProblem(reply, 'not_found', 'This video is not encrypted');
    return reply
      .header('cache-control', 'private, no-store')
      .type('application/octet-stream')
      .send(open(row.hls_key, d.secret, 'hls-key'));
  });

  app.route<{ Params: { pid: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/mp4/:pid/:name',
    schema: { hide: true },
    handler: async (req, reply) => {
      const m = /^([a-z0-9][a-z0-9_-]{0,31})\.(mp4|m4a)$/.exec(req.params.name);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, req.params.pid);
      if (!row) return reply;
      const outputs = JSON.parse(row.outputs ?? '{}') as { mp4?: Record<string, string> };
      const key = outputs.mp4?.[m[1]!];
      if (!key) return sendProblem(reply, 'not_found', 'No such rendition');
      return sendObject(req, reply, d.storage, key, { cacheControl: IMMUTABLE });
    },
  });

  app.get<{ Params: { file: string } }>('/thumb/:file', { schema: { hide: true } }, async (req, reply) => {
    const m = /^([A-Za-z0-9_-]+)\.jpg$/.exec(req.params.file);
    if (!m) return sendProblem(reply, 'not_found', 'Not found');
    const row = await find(req, reply, m[1]!);
    if (!row) return reply;
    const outputs = JSON.parse(row.outputs ?? '{}') as { images?: { poster?: string } };
    const poster = outputs.images?.poster ?? 'poster.jpg';
    // Short cache: a new cover changes which poster this URL answers with.
    return sendObject(req, reply, d.storage, `${prefix(row)}/images/${poster}`, {
      contentType: 'image/jpeg',
      cacheControl: 'public, max-age=60',
    });
  });

  app.get<{ Params: { file: string } }>(
    '/storyboard/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      const m = /^([A-Za-z0-9_-]+)\.vtt$/.exec(req.params.file);
      if (!m) return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, m[1]!);
      if (!row) return reply;
      const obj = await d.storage.get(`${prefix(row)}/images/storyboard.vtt`).catch(() => undefined);
      if (!obj) return sendProblem(reply, 'not_found', 'No storyboard');
      let text = '';
      for await (const c of obj.body) text += (c as Buffer).toString('utf8');
      // Sprite URLs in the stored VTT are relative to it; here they point at this video's sprite route.
      text = text.replace(/^(storyboard-\d+\.jpg)(#xywh=)/gm, `/storyboard/${row.playback_id}/$1$2`);
      cors(reply);
      return reply.header('cache-control', PLAYLIST).type('text/vtt; charset=utf-8').send(text);
    },
  );

  app.get<{ Params: { pid: string; file: string } }>(
    '/storyboard/:pid/:file',
    { schema: { hide: true } },
    async (req, reply) => {
      if (!/^storyboard-\d+\.jpg$/.test(req.params.file)) return sendProblem(reply, 'not_found', 'Not found');
      const row = await find(req, reply, req.params.pid);
      if (!row) return reply;
      return sendObject(req, reply, d.storage, `${prefix(row)}/images/${req.params.file}`, {
        contentType: 'image/jpeg',
        cacheControl: IMMUTABLE,
      });
    },
  );
}
