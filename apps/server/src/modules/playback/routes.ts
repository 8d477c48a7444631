import {
  CreatedSigningKey,
  CreatePlaybackToken,
  CreateSigningKey,
  IdParams,
  ListQuery,
  listOf,
  NoContent,
  PlaybackToken,
  Problem,
  ReferrerPolicy,
  ReferrerPolicyInput,
  SigningKey,
} from '@vodcloud/contracts';
import { tenantOf } from '../../http/auth';
import { decodeCursor, page } from '../../http/pagination';
import type { ZodApp } from '../../http/types';
import type { PlaybackService } from './service';

/** Signing keys, server-minted playback tokens and referrer policies (api role). */
export function playbackRoutes(app: ZodApp, playback: PlaybackService): void {
  app.get('/v1/signing-keys', {
    config: { access: 'settings' },
    schema: {
      operationId: 'listSigningKeys',
      tags: ['playback'],
      summary: 'List signing keys (public metadata only; private keys are never stored)',
      querystring: ListQuery,
      response: { 200: listOf(SigningKey) },
    },
    handler: async (req) => {
      const p = page(
        await playback.listKeys(tenantOf(req), req.query.limit, decodeCursor(req.query.cursor)),
        req.query.limit,
      );
      return { data: p.rows, nextCursor: p.nextCursor };
    },
  });
  app.post('/v1/signing-keys', {
    config: { access: 'settings', audit: 'signing_key.create' },
    schema: {
      operationId: 'createSigningKey',
      tags: ['playback'],
      summary:
        'Create an RSA signing key for playback tokens (the private key is returned once), or register your own RSA public key ({publicKey: PEM})',
      body: CreateSigningKey.nullish(),
      response: { 201: CreatedSigningKey, 503: Problem },
    },
    handler: async (req, reply) => reply.code(201).send(await playback.createKey(tenantOf(req), req.body)),
  });
  app.get('/v1/signing-keys/:id', {
    config: { access: 'settings' },
    schema: {
      operationId: 'getSigningKey',
      tags: ['playback'],
      summary: 'Get a signing key',
      params: IdParams,
      response: { 200: SigningKey },
    },
    handler: async (req) => playback.getKey(tenantOf(req), req.params.id),
  });
  app.delete('/v1/signing-keys/:id', {
    config: { access: 'settings', audit: 'signing_key.revoke' },
    schema: {
      operationId: 'revokeSigningKey',
      tags: ['playback'],
      summary: 'Revoke a signing key: tokens signed with it stop playing within seconds',
      params: IdParams,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await playback.revokeKey(tenantOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/v1/videos/:id/playback-tokens', {
    config: { access: 'write', audit: { action: 'playback_token.create', target: 'video', idParam: 'id' } },
    schema: {
      operationId: 'createPlaybackToken',
      tags: ['playback'],
      summary: "Mint a playback token for a video with the platform's key of the tenant",
      params: IdParams,
      body: CreatePlaybackToken.nullish(),
      response: { 201: PlaybackToken },
    },
    handler: async (req, reply) =>
      reply
        .code(201)
        .send(
          await playback.mintToken(tenantOf(req), req.params.id, req.body ?? CreatePlaybackToken.parse({})),
        ),
  });

  policyRoutes(app, playback, '/v1/referrer-policy', 'tenant');
  policyRoutes(app, playback, '/v1/videos/:id/referrer-policy', 'video');
}

/** GET, PUT and DELETE of the referrer policy of the tenant or of one video. */
function policyRoutes(app: ZodApp, playback: PlaybackService, url: string, scope: 'tenant' | 'video'): void {
  const params = scope === 'video' ? { params: IdParams } : {};
  const cap = scope === 'video' ? 'Video' : 'Tenant';
  const videoOf = (req: { params: unknown }) => (scope === 'video' ? (req.params as { id: string }).id : '');
  app.get(url, {
    config: { access: 'settings' },
    schema: {
      operationId: `get${cap}ReferrerPolicy`,
      tags: ['playback'],
      summary: `Get the referrer policy of the ${scope}`,
      ...params,
      response: { 200: ReferrerPolicy },
    },
    handler: async (req) => playback.getPolicy(tenantOf(req), videoOf(req)),
  });
  app.put(url, {
    config: { access: 'settings', audit: { action: 'referrer_policy.set', target: scope } },
    schema: {
      operationId: `set${cap}ReferrerPolicy`,
      tags: ['playback'],
      summary:
        scope === 'video'
          ? "Set the video's referrer policy (replaces the tenant's for this video)"
          : "Set the tenant's referrer policy (for every video without its own)",
      ...params,
      body: ReferrerPolicyInput,
      response: { 200: ReferrerPolicy },
    },
    handler: async (req) => playback.putPolicy(tenantOf(req), videoOf(req), req.body),
  });
  app.delete(url, {
    config: { access: 'settings', audit: { action: 'referrer_policy.delete', target: scope } },
    schema: {
      operationId: `delete${cap}ReferrerPolicy`,
      tags: ['playback'],
      summary: `Remove the referrer policy of the ${scope}`,
      ...params,
      response: { 204: NoContent },
    },
    handler: async (req, reply) => {
      await playback.deletePolicy(tenantOf(req), videoOf(req));
      return reply.code(204).send(null);
    },
  });
}
