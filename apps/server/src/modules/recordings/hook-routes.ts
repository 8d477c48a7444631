import { Problem } from '@vodcloud/contracts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ZodApp } from '../../http/types';
import { AppError } from '../../lib/errors';
import type { RecordingHooks } from './hooks';
import { checkOnReceipt } from './paths';
import type { PartLocation, RecordingService, StreamCall } from './service';
import { settingsOf } from './views';

export interface HookRouteDeps {
  hooks: RecordingHooks;
  recordings: RecordingService;
  /** VOD_RECORDING_DIRS. */
  dirs: readonly string[];
}

const BODY_LIMIT = 64 * 1024;
const Field = z.string().max(1000);
const Name = z.string().trim().min(1).max(200);
const Answer = z.object({
  partId: z.string().optional().describe('The recorded file, noted (stored and joined by a job)'),
  ignored: z.boolean().optional().describe('A callback this platform has nothing to do for'),
});
/** What a callback asks: the stream went live, stopped, or a file was recorded. */
type CallKind = 'publish' | 'unpublish' | 'record' | 'other';
// Maps, not objects: a field such as `call=constructor` must not find an inherited property.
const NGINX_CALLS = new Map<string, CallKind>([
  ['publish', 'publish'],
  ['publish_done', 'unpublish'],
  ['record_done', 'record'],
]);
const SRS_ACTIONS = new Map<string, CallKind>([
  ['on_publish', 'publish'],
  ['on_unpublish', 'unpublish'],
  ['on_dvr', 'record'],
]);
const TokenQuery = z.object({ token: z.string().max(200).optional() }).loose();

/** nginx-rtmp's callbacks: a form body; `call` says which (publish, publish_done, record_done, …). */
const NginxRtmpBody = z
  .object({
    call: Field.optional(),
    app: Name,
    name: Name,
    clientid: Field.optional(),
    path: Field.optional(),
  })
  .loose();

/** SRS's HTTP callbacks (on_publish, on_unpublish, on_dvr): JSON with `action`; `file` relative to `cwd`. */
const SrsBody = z
  .object({
    action: Field,
    app: Name,
    stream: Name,
    client_id: z.union([Field, z.number()]).optional(),
    cwd: Field.optional(),
    file: Field.optional(),
  })
  .loose();

/**
 * The URLs recording servers call, authorised by the hook's token in the query (none → 401, wrong → 403).
 * One URL per recorder serves its publish, publish-done and recorded-file callbacks. A file's path must lie
 * under VOD_RECORDING_DIRS (400 otherwise, and nothing is read), unless the hook downloads from fetchBaseUrl.
 */
export async function hookRoutes(app: ZodApp, d: HookRouteDeps): Promise<void> {
  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    // nginx-rtmp posts application/x-www-form-urlencoded; parsed here only (the API itself takes JSON).
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: BODY_LIMIT },
      (_req, body, done) => done(null, firstValues(new URLSearchParams(body as string))),
    );
    const config = {
      access: 'public' as const,
      audit: {
        skip: 'recorder callbacks: authorised by a hook token; what they make is listed in /v1/recordings',
      },
    };
    const handle = async (
      token: string | undefined,
      call: StreamCall,
      kind: CallKind,
      file: string | undefined,
    ): Promise<z.infer<typeof Answer>> => {
      const hook = await d.hooks.authenticate(token);
      if (kind === 'publish') await d.recordings.published(hook, call);
      else if (kind === 'unpublish') await d.recordings.unpublished(hook, call);
      else if (kind === 'record') {
        if (!file) throw new AppError('validation_failed', 'The callback names no recorded file (path)');
        const s = settingsOf(hook);
        const location: PartLocation = await checkOnReceipt(file, { ...s, dirs: d.dirs });
        return d.recordings.recorded(hook, call, location);
      }
      return { ignored: kind === 'other' };
    };
    scope.post('/hooks/nginx-rtmp/record-done', {
      bodyLimit: BODY_LIMIT,
      config,
      schema: {
        operationId: 'nginxRtmpCallback',
        tags: ['recordings'],
        summary: "nginx-rtmp's on_record_done (and on_publish, on_publish_done) callback",
        querystring: TokenQuery,
        body: NginxRtmpBody,
        response: { 200: Answer, 400: Problem, 401: Problem, 403: Problem },
      },
      handler: async (req) => {
        const b = req.body;
        const call: StreamCall = {
          recorder: 'nginx-rtmp',
          app: b.app,
          name: b.name,
          clientId: b.clientid ?? null,
        };
        // A form without `call` but with a path: an on_record_done of a version that did not send `call`.
        const kind = b.call ? (NGINX_CALLS.get(b.call) ?? 'other') : b.path ? 'record' : 'other';
        return handle(req.query.token, call, kind, b.path);
      },
    });
    scope.post('/hooks/srs/dvr', {
      bodyLimit: BODY_LIMIT,
      config,
      schema: {
        operationId: 'srsCallback',
        tags: ['recordings'],
        summary: "SRS's on_dvr (and on_publish, on_unpublish) callback; answers {code: 0} as SRS expects",
        querystring: TokenQuery,
        body: SrsBody,
        response: { 200: Answer.extend({ code: z.literal(0) }), 400: Problem, 401: Problem, 403: Problem },
      },
      handler: async (req) => {
        const b = req.body;
        const clientId = b.client_id === undefined ? null : String(b.client_id);
        const call: StreamCall = { recorder: 'srs', app: b.app, name: b.stream, clientId };
        const kind = SRS_ACTIONS.get(b.action) ?? 'other';
        // SRS's file may be relative to its working directory.
        const file =
          b.file && !b.file.startsWith('/') && b.cwd ? `${b.cwd.replace(/\/+$/, '')}/${b.file}` : b.file;
        const out = await handle(req.query.token, call, kind, file);
        return { code: 0 as const, ...out };
      },
    });
  });
}

/**
 * A form's fields, each with its FIRST value. nginx-rtmp appends the publisher's own URL arguments after its
 * fields (`rtmp://…/live/cam?call=record_done&path=/etc/passwd` repeats `call` and `path`): the recorder's
 * values come first, so later repeats, which the publisher controls, are ignored.
 */
export function firstValues(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}
