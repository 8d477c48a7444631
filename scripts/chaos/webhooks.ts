// The chaos run's webhook receiver: a local HTTP server the tenant's webhook points at. It checks each
// delivery's signature (Standard Webhooks) and keeps, per video and event type, the distinct event ids
// it received: two ids for one video's `video.ready` mean the work behind it was done (visibly) twice;
// one id received several times is a retried delivery, which is allowed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Receiver {
  url: string;
  port: number;
  /** Set once the webhook is created (deliveries before that cannot be checked). */
  secret?: string;
  /** video id → event type → distinct event ids. */
  events: Map<string, Map<string, Set<string>>>;
  deliveries: number;
  badSignatures: number;
  close(): Promise<void>;
}

function signatureOk(secret: string, id: string, ts: string, body: string, header: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const want = Buffer.from(createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64'));
  return header.split(' ').some((part) => {
    const got = Buffer.from(part.replace(/^v1,/, ''));
    return got.length === want.length && timingSafeEqual(got, want);
  });
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    port: 0,
    events: new Map(),
    deliveries: 0,
    badSignatures: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      r.deliveries++;
      const id = String(req.headers['webhook-id'] ?? '');
      const ts = String(req.headers['webhook-timestamp'] ?? '');
      const sig = String(req.headers['webhook-signature'] ?? '');
      if (!r.secret || !signatureOk(r.secret, id, ts, body, sig)) {
        r.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      try {
        const e = JSON.parse(body) as { id: string; type: string; data?: { id?: string; videoId?: string } };
        // upload.completed names its video `videoId`; the video events carry the video (`id`).
        const video = e.data?.videoId ?? e.data?.id ?? '?';
        const byType = r.events.get(video) ?? new Map<string, Set<string>>();
        r.events.set(video, byType);
        const ids = byType.get(e.type) ?? new Set<string>();
        byType.set(e.type, ids);
        ids.add(e.id);
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}/hook`;
  return r;
}
