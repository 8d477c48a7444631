import type { FastifyInstance } from 'fastify';
import { sendProblem } from '../../http/problem';
import { PlaybackGate, type PlaybackService } from '../playback';
import { playerBundle } from './bundle';

const TOKEN = /^[A-Za-z0-9_.-]{1,4096}$/;

export interface EmbedDeps {
  playback: PlaybackService;
  /** Base URL of the API (beacons); empty: the embed page's own origin. */
  apiBase?: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Content-Security-Policy of the embed page; no frame-ancestors and no X-Frame-Options: it is embeddable. */
export const EMBED_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The embed page (stream role): GET /embed/{playbackId}[?token=&thumbToken=&storyboardToken=] answers a
 * minimal HTML page with one full-size <vod-player>, for an <iframe>. The video's referrer policy and, for
 * a signed video, the token (aud v) are checked as on the stream routes. GET /embed/vod-player.js is the
 * prebuilt player bundle (see bundle.ts).
 */
export function embedRoutes(app: FastifyInstance, d: EmbedDeps): void {
  // Uncached: the page is loaded once per view, and a block or a new policy applies to it at once.
  const gate = new PlaybackGate(d.playback);
  app.get(
    '/embed/vod-player.js',
    {
      schema: {
        operationId: 'getEmbedPlayerScript',
        tags: ['embed'],
        summary: 'The <vod-player> script the embed page loads',
        security: [],
        doc: {
          responses: {
            200: { description: 'The player bundle', content: { 'text/javascript': { type: 'string' } } },
            304: { description: 'Not modified (the If-None-Match matched)' },
          },
        },
      },
    },
    async (req, reply) => {
      const b = await playerBundle();
      reply.header('access-control-allow-origin', '*').header('etag', b.etag);
      if (req.headers['if-none-match'] === b.etag) return reply.code(304).send();
      return reply
        .header('cache-control', 'public, max-age=300')
        .type('text/javascript; charset=utf-8')
        .send(b.code);
    },
  );

  app.get<{ Params: { pid: string } }>(
    '/embed/:pid',
    {
      schema: {
        operationId: 'getEmbedPage',
        tags: ['embed'],
        summary: 'A page with one full-size <vod-player>, for an <iframe>',
        description:
          "The video's referrer policy applies (the page's Referer is the embedding site); a signed video needs " +
          '`token` (aud v).',
        security: [],
        doc: {
          params: { pid: 'The playback id of the video' },
          query: {
            token: {
              description: 'The playback token (aud v) of a signed video',
              schema: { type: 'string' },
            },
            thumbToken: { description: 'A thumbnail token (aud t)', schema: { type: 'string' } },
            storyboardToken: { description: 'A storyboard token (aud s)', schema: { type: 'string' } },
            autoplay: { description: '`1`: start playing, muted', schema: { type: 'string', enum: ['1'] } },
            muted: { description: '`1`: start muted', schema: { type: 'string', enum: ['1'] } },
          },
          responses: { 200: { description: 'The HTML page', content: { 'text/html': { type: 'string' } } } },
          errors: [403, 404],
        },
      },
    },
    async (req, reply) => {
      const { pid } = req.params;
      const q = (name: string) => {
        const v = (req.query as Record<string, unknown> | undefined)?.[name];
        return typeof v === 'string' && TOKEN.test(v) ? v : undefined;
      };
      const token = q('token');
      // No own-embed exemption here: the page's Referer is the embedding site.
      const pass = await gate.check({
        playbackId: pid,
        audience: 'v',
        token,
        requireServed: true,
        checkReferrer: true,
        referer: req.headers.referer,
      });
      if (!pass.ok) return sendProblem(reply, pass.code, pass.message);
      const row = pass.video;
      const attrs: string[] = [`playback-id="${esc(pid)}"`];
      if (token) attrs.push(`token="${esc(token)}"`);
      const thumb = q('thumbToken');
      const story = q('storyboardToken');
      if (thumb) attrs.push(`thumb-token="${esc(thumb)}"`);
      if (story) attrs.push(`storyboard-token="${esc(story)}"`);
      if (d.apiBase) attrs.push(`api-base="${esc(d.apiBase)}"`);
      const flags = req.query as Record<string, unknown>;
      if (flags.autoplay === '1') attrs.push('autoplay', 'muted');
      else if (flags.muted === '1') attrs.push('muted');
      const title = esc(row.title ?? 'video');
      const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>html,body{margin:0;height:100%;background:#000;overflow:hidden}vod-player{display:block;width:100%;height:100%}</style>
<script type="module" src="/embed/vod-player.js"></script></head>
<body><vod-player ${attrs.join(' ')}></vod-player></body></html>`;
      return reply
        .header('content-security-policy', EMBED_CSP)
        .header('x-content-type-options', 'nosniff')
        .header(
          'cache-control',
          row.playback_policy === 'public' ? 'public, max-age=60' : 'private, no-store',
        )
        .type('text/html; charset=utf-8')
        .send(html);
    },
  );
}
