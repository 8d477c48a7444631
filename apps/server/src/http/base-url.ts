import type { FastifyRequest } from 'fastify';

/** Absolute URLs come from VOD_PUBLIC_URL, else from the address the client used. */
export function baseUrlFor(publicUrl: string | undefined) {
  return (req: FastifyRequest) => publicUrl ?? `${req.protocol}://${req.host}`;
}
