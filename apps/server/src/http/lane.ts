import http, { type IncomingMessage, type ServerResponse } from 'node:http';

/** The Fastify options the server is made with (as Fastify passes them, defaults applied). */
interface ServerOpts {
  http?: http.ServerOptions;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number | null;
}

/** Answers a request itself (true), or leaves it to Fastify (false). */
export type Lane = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Fastify's HTTP server with room for a lane in front of its routing: the stream role's fast lane
 * (modules/stream/fast-lane.ts) answers playback requests it can answer from memory before Fastify's
 * routing and hooks run; every other request goes to Fastify as before. The server is made as Fastify makes
 * its own (its `http` options, keep-alive, request and connection timeouts).
 */
export function laneServer() {
  let lane: Lane | undefined;
  const serverFactory = (handler: http.RequestListener, opts: ServerOpts) => {
    const server = http.createServer(opts.http ?? {}, (req, res) => {
      if (lane === undefined || !lane(req, res)) handler(req, res);
    });
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    if (opts.requestTimeout !== undefined) server.requestTimeout = opts.requestTimeout;
    server.setTimeout(opts.connectionTimeout ?? 0);
    if (opts.maxRequestsPerSocket) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    return server;
  };
  return {
    serverFactory,
    use(l: Lane) {
      lane = l;
    },
  };
}
