// What a chaos run needs in the cluster before the load starts: a tenant, its write key, the cheapest
// template the API allows (one 240p rendition, 2 s segments, no MP4) and a webhook to the local receiver.
import type { Cluster } from '../cluster/launcher';

async function call<T>(url: string, headers: Record<string, string>, body: object): Promise<T> {
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 201) return (await res.json()) as T;
      last = `${res.status} ${await res.text()}`;
      if (res.status < 500) break;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`POST ${url}: ${last}`);
}

export interface Tenant {
  tenantId: string;
  auth: Record<string, string>;
  templateId: string;
  webhookSecret: string;
}

export async function setupTenant(cluster: Cluster, hookUrl: string): Promise<Tenant> {
  const api = cluster.urls.api[0]!;
  const admin = { authorization: `Bearer ${cluster.adminKey}` };
  const tenant = await call<{ id: string }>(`${api}/v1/tenants`, admin, { name: 'chaos' });
  const key = await call<{ key: string }>(`${api}/v1/tenants/${tenant.id}/api-keys`, admin, {
    name: 'chaos',
    scopes: ['read', 'write'],
  });
  const auth = { authorization: `Bearer ${key.key}` };
  const template = await call<{ id: string }>(`${api}/v1/templates`, auth, {
    name: 'chaos 240p',
    renditions: [{ name: '240p', height: 240, videoBitrate: 300_000 }],
    audio: { bitrate: 64_000 },
    hls: { segmentDuration: 2, encryption: 'none' },
    mp4: 'none',
  });
  const hook = await call<{ secret: string }>(`${api}/v1/webhooks`, auth, {
    url: hookUrl,
    events: ['upload.completed', 'video.ready', 'video.errored'],
  });
  return { tenantId: tenant.id, auth, templateId: template.id, webhookSecret: hook.secret };
}
