import { type ObjectStore, PRESIGN_PATH, verifyPresigned } from '@vodcloud/storage';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from '../../http/problem';
import { sendObject } from './send-object';

/**
 * Presigned URLs of the file store are served here (the S3 store's point at S3 itself): GET/HEAD with
 * ranges, and PUT streamed into the store. A bad, expired or tampered signature is a 403.
 */
export async function storageRoutes(
  app: FastifyInstance,
  storage: ObjectStore,
  secret: string,
): Promise<void> {
  if (storage.kind !== 'file') return;
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    scope.route({
      method: ['GET', 'HEAD', 'PUT'],
      url: `${PRESIGN_PATH}*`,
      schema: { hide: true },
      // The API hands out presigned GET URLs only; a feature that issues PUT URLs records its own action.
      config: {
        audit: { skip: "the file store's presigned URLs, authorised by their signature; no API actor" },
      },
      handler: async (req, reply) => {
        const url = new URL(req.url, 'http://x');
        const verdict = verifyPresigned(url, secret, { method: req.method === 'HEAD' ? 'GET' : req.method });
        if (!verdict.ok)
          return sendProblem(reply, 'forbidden', `The signed URL is not valid (${verdict.reason})`);
        if (req.method === 'PUT') {
          const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
          if (verdict.contentType && type !== verdict.contentType)
            return sendProblem(
              reply,
              'forbidden',
              `This URL accepts Content-Type ${verdict.contentType} only`,
            );
          const length = req.headers['content-length'] ? Number(req.headers['content-length']) : undefined;
          const put = await storage.put(verdict.key, req.raw, {
            contentType: type || undefined,
            contentLength: length,
          });
          return reply.code(200).header('etag', `"${put.etag}"`).send();
        }
        return sendObject(req, reply, storage, verdict.key, {
          contentType: verdict.responseContentType,
          cacheControl: 'private, max-age=60',
        });
      },
    });
  });
}
