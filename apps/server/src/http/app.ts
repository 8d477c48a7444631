import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import { accountRoutes } from '../modules/accounts/routes';
import { auditRoutes, registerAudit } from '../modules/audit';
import { beaconRoutes } from '../modules/beacons/routes';
import { categoryRoutes } from '../modules/categories/routes';
import { playbackBase } from '../modules/cluster';
import { consoleFallback } from '../modules/console/routes';
import { detectionRoutes } from '../modules/detection';
import { embedRoutes } from '../modules/embed/routes';
import { registerIdempotency } from '../modules/idempotency';
import { monitorRoutes } from '../modules/monitor/routes';
import { snapshotRoutes } from '../modules/pipeline/snapshot-routes';
import { playbackRoutes } from '../modules/playback/routes';
import { PlaybackService } from '../modules/playback/service';
import { recordingApi } from '../modules/recordings';
import { mediaService } from '../modules/rpc/contracts';
import { statsRoutes } from '../modules/stats';
import { type StreamDeps, streamRoutes } from '../modules/stream/routes';
import { storageRoutes } from '../modules/stream/storage-route';
import { Thumbnailer } from '../modules/stream/thumbnails';
import { systemRoutes } from '../modules/system/routes';
import { templateRoutes } from '../modules/templates/routes';
import { tenantRoutes } from '../modules/tenants/routes';
import { tusRoutes, uploadRoutes } from '../modules/uploads/routes';
import { sourceKey } from '../modules/videos';
import { videoRoutes } from '../modules/videos/routes';
import { sourceRoutes } from '../modules/videos/source-routes';
import { webhookRoutes } from '../modules/webhooks/routes';
import { FailedAuthLimiter } from './address-limit';
import { registerAuth } from './auth';
import { laneServer } from './lane';
import { routeMethods } from './methods';
import { type Metrics, registerHttpMetrics } from './metrics';
import { MAX_URL_LENGTH } from './openapi';
import { registerPlugins } from './plugins';
import { errorHandler, sendProblem } from './problem';
import {
  REQUEST_ID,
  RequestLogController,
  registerReadYourWrites,
  registerRequestLogContext,
  requestChildLogger,
} from './request-log';

export { VERSION } from './version';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

/** Headers of every response: its request id, and no MIME sniffing of what we serve (API, HLS, MP4, images). */
function commonHeaders(id: string, res: ServerResponse): void {
  res.setHeader('x-request-id', id);
  res.setHeader('x-content-type-options', 'nosniff');
}

/**
 * The Fastify instance with what every route shares: timeouts, request ids, `nosniff`, problem+json for
 * errors, 404 and 405 (a known path asked with another method, with `Allow`).
 */
function createBase(ctx: AppContext, server: ReturnType<typeof laneServer>): FastifyInstance {
  const { config } = ctx;
  const base = Fastify({
    serverFactory: server.serverFactory,
    loggerInstance: ctx.log,
    // Probes' request lines at debug; every line of a request carries its reqId (./request-log.ts).
    logController: new RequestLogController(),
    childLoggerFactory: requestChildLogger,
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.idleTimeoutMs,
    // Slowloris: headers trickled in are cut (408) once headersTimeoutMs passed since the request began; Node
    // checks every connectionsCheckingInterval, so keep that well under the timeout.
    http: {
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(config.headersTimeoutMs / 4))),
    },
    // A path parameter longer than maxParamLength (100) or a URL that cannot be decoded: problem+json with
    // the request id, never Fastify's JSON that echoes the URL.
    frameworkErrors: (err, req, reply) => {
      commonHeaders(req.id, reply.raw);
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
        return sendProblem(reply, 'not_found', 'Not found: a path segment is longer than 100 characters');
      return sendProblem(reply, 'bad_request', 'The URL is not valid');
    },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // The client address (rate limits, audit) from X-Forwarded-For only through proxies named here.
    // (A hop count is a number to Fastify, whose types name only the other forms.)
    trustProxy: config.trustProxy as boolean | string[],
  }) as unknown as FastifyInstance;

  // The API speaks JSON only; routes that take other bodies (tus) register their own parsers.
  base.removeContentTypeParser('text/plain');
  base.setValidatorCompiler(validatorCompiler);
  base.setSerializerCompiler(serializerCompiler);
  base.setErrorHandler(errorHandler);
  const methodsOf = routeMethods(base);
  // The web console (api role): a GET of a client route or a console file that no route matched.
  const spa = config.roles.includes('api') ? consoleFallback(base) : undefined;
  base.setNotFoundHandler(async (req, reply) => {
    if (spa && (await spa(req, reply))) return reply;
    const path = req.url.split('?')[0] ?? '';
    const allow = methodsOf(path);
    if (allow.length > 0)
      return sendProblem(
        reply,
        'method_not_allowed',
        `${req.method} is not allowed here; allowed: ${allow.join(', ')}`,
        {
          headers: { allow: allow.join(', ') },
        },
      );
    return sendProblem(reply, 'not_found', `No route ${req.method} ${path}`);
  });
  registerRequestLogContext(base, { readScopes: Boolean(ctx.config.dbReplicaUrl) });
  // On the raw response, so replies written by hijacking handlers (tus, object streams) carry them too.
  // A URL past MAX_URL_LENGTH is refused before anything else reads it (Node's parser cuts at 16 KiB of
  // headers with a bare 431; this answers problem+json well before).
  base.addHook('onRequest', async (req, reply) => {
    commonHeaders(req.id, reply.raw);
    if (req.url.length > MAX_URL_LENGTH)
      throw new AppError('uri_too_long', `The URL is longer than ${MAX_URL_LENGTH} characters`);
  });
  return base;
}

/** What the stream role's routes are built from (modules/stream). */
function streamDeps(ctx: AppContext, playback: PlaybackService): StreamDeps {
  const { config } = ctx;
  return {
    storage: ctx.ports.storage,
    box: ctx.box,
    playback,
    delivery: ctx.delivery,
    thumbnails: new Thumbnailer(ctx.ports.storage, ctx.sources, {
      cache: ctx.ports.cache,
      generatePerMinute: config.thumbs.generatePerMinute,
      maxVariants: config.thumbs.maxVariants,
    }),
    redirect: config.streamRedirect === 'presigned' && ctx.ports.storage.kind === 's3',
    media: ctx.rpc.client(mediaService),
    jitWaitMs: config.jitWaitMs,
    accel: config.streamAccel === 'nginx',
  };
}

/** Builds the HTTP app for the given context without listening (tests use inject()). */
export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const { config } = ctx;
  const server = laneServer();
  const base = createBase(ctx, server);
  const app = base.withTypeProvider<ZodTypeProvider>();

  const metrics = ctx.metrics;
  app.decorate('metrics', metrics);
  registerHttpMetrics(base, metrics);

  await registerPlugins(app, config);

  // Before the routes: every write and admin request is recorded once answered (modules/audit).
  registerAudit(base, ctx.audit);
  registerAuth(base, ctx.tenants, {
    limiter:
      config.rateLimitAnonPerMinute > 0 ? new FailedAuthLimiter(config.rateLimitAnonPerMinute) : undefined,
    sessions: ctx.accounts,
    publicUrl: config.publicUrl,
  });
  if (config.dbReplicaUrl) registerReadYourWrites(base, ctx.db.recentWrites);
  // After auth (onRequest) and validation: a create with Idempotency-Key is answered once (modules/idempotency).
  registerIdempotency(base, ctx.idempotency);
  // One per app: api-side revocations and policy changes reach this process's stream cache at once.
  const playback = new PlaybackService(ctx.db, ctx.videos.repo, ctx.box);
  systemRoutes(app, ctx);
  ctx.rpc.routes(base);
  if (config.roles.includes('api')) {
    tenantRoutes(app, ctx.tenants);
    accountRoutes(app, {
      accounts: ctx.accounts,
      members: ctx.members,
      tenants: ctx.tenants,
      publicUrl: config.publicUrl,
    });
    templateRoutes(app, ctx.templates);
    categoryRoutes(app, ctx.categories);
    const videoBase = playbackBase({
      cdnUrl: config.cdnUrl,
      publicUrl: config.publicUrl,
      registry: ctx.ports.registry,
      selfServesStream: config.roles.includes('stream'),
      requestBase: (req) => `${req.protocol}://${req.host}`,
    });
    videoRoutes(app, ctx.videos, config.publicUrl, videoBase);
    detectionRoutes(app, {
      ...ctx.detection,
      detection: ctx.detection.service,
      videos: ctx.videos,
      base: videoBase,
    });
    sourceRoutes(app, {
      videos: ctx.videos,
      storage: ctx.ports.storage,
      redirect: config.streamRedirect === 'presigned' && ctx.ports.storage.kind === 's3',
      uploadedFilename: async (tenantId, videoId) =>
        (await ctx.uploads.byTusId(sourceKey(tenantId, videoId)))?.filename,
    });
    webhookRoutes(app, ctx.webhooks);
    await recordingApi(app, ctx.recordings, { publicUrl: config.publicUrl, dirs: config.recording.dirs });
    auditRoutes(app, ctx.audit);
    statsRoutes(app, {
      queries: ctx.stats.queries,
      assertVideo: async (tenantId, videoId) => {
        await ctx.videos.getRow(tenantId, videoId);
      },
    });
    playbackRoutes(app, playback);
    snapshotRoutes(
      app,
      { videos: ctx.videos, storage: ctx.ports.storage, media: ctx.rpc.client(mediaService) },
      config.publicUrl,
    );
    uploadRoutes(app, {
      uploads: ctx.uploads,
      registry: ctx.ports.registry,
      publicUrl: config.publicUrl,
      self: {
        get id() {
          return ctx.node.id;
        },
        servesUploads: config.roles.includes('upload'),
      },
      tus: ctx.tus,
    });
  }
  if (config.roles.includes('upload')) await tusRoutes(base, await ctx.loadTus());
  if (config.roles.includes('stream')) {
    server.use(streamRoutes(base, streamDeps(ctx, playback)));
    await storageRoutes(base, ctx.ports.storage, ctx.secret);
    embedRoutes(base, { playback });
  }
  // Cluster, call statistics and alerts (admin key only): wherever the API or the monitor runs.
  if (config.roles.includes('api') || config.roles.includes('monitor'))
    monitorRoutes(app, { monitor: ctx.monitor, registry: ctx.ports.registry, queue: ctx.ports.queue });
  // Player QoE beacons: public, on any node that serves players or the API.
  if (config.roles.includes('api') || config.roles.includes('stream'))
    await base.register(beaconRoutes, {
      playback,
      stats: ctx.stats,
      ratePerMinute: config.stats.beaconRatePerMinute,
    });

  await app.ready();
  return base;
}
