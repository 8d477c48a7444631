// The library's filters ⇄ the page's URL query (shareable, kept by back/forward) ⇄ GET /v1/videos's query.
import type { VideoListQuery, VideoStatus } from '@vodcloud/sdk';

export const STATUSES: readonly VideoStatus[] = [
  'waiting_upload',
  'uploading',
  'queued',
  'processing',
  'ready',
  'errored',
  'blocked',
];
/** States a video stays in until someone acts: the list is polled while it shows one in another state. */
export const FINAL_STATUSES: ReadonlySet<VideoStatus> = new Set(['ready', 'errored', 'blocked']);
/** States with a processing progress worth a progress bar. */
export const ACTIVE_STATUSES: ReadonlySet<VideoStatus> = new Set(['uploading', 'queued', 'processing']);
/** While a listed video is not in a final state, the page is read again this often. */
export const POLL_MS = 2_000;

/** React Query's refetchInterval for a page of videos: POLL_MS while one is not final, else none. */
export const pollInterval = (videos: ReadonlyArray<{ status: VideoStatus }> | undefined): number | false =>
  videos?.some((v) => !FINAL_STATUSES.has(v.status)) ? POLL_MS : false;
export const ORDERS = ['newest', 'oldest'] as const;
export type Order = (typeof ORDERS)[number];

export interface LibraryFilters {
  q: string;
  status: VideoStatus | '';
  categoryId: string;
  tag: string;
  /** Calendar days (YYYY-MM-DD) in the browser's time zone, both included. */
  from: string;
  to: string;
  order: Order;
}

export const NO_FILTERS: LibraryFilters = {
  q: '',
  status: '',
  categoryId: '',
  tag: '',
  from: '',
  to: '',
  order: 'newest',
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const validDay = (s: string) => DAY.test(s) && !Number.isNaN(new Date(`${s}T00:00:00`).getTime());

/** Reads the filters from a URL query; anything unknown or malformed is ignored. */
export function filtersFromSearch(params: URLSearchParams): LibraryFilters {
  const get = (k: string) => (params.get(k) ?? '').trim();
  const status = get('status');
  const order = get('order');
  return {
    q: get('q').slice(0, 200),
    status: (STATUSES as readonly string[]).includes(status) ? (status as VideoStatus) : '',
    categoryId: get('category').slice(0, 64),
    tag: get('tag').slice(0, 64),
    from: validDay(get('from')) ? get('from') : '',
    to: validDay(get('to')) ? get('to') : '',
    order: (ORDERS as readonly string[]).includes(order) ? (order as Order) : 'newest',
  };
}

/** The URL query of the filters: only those set, in a fixed order. */
export function filtersToSearch(f: LibraryFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.q) p.set('q', f.q);
  if (f.status) p.set('status', f.status);
  if (f.categoryId) p.set('category', f.categoryId);
  if (f.tag) p.set('tag', f.tag);
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', f.to);
  if (f.order !== 'newest') p.set('order', f.order);
  return p;
}

/** Local midnight of a calendar day, plus `days`, as an ISO time. */
function localMidnight(day: string, days = 0): string {
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + days);
  return d.toISOString();
}

/** The API's query: days become [from 00:00, the day after `to` 00:00) in the browser's time zone. */
export function filtersToQuery(f: LibraryFilters, limit: number, cursor?: string): VideoListQuery {
  return {
    limit,
    order: f.order,
    ...(cursor ? { cursor } : {}),
    ...(f.q ? { q: f.q } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...(f.categoryId ? { categoryId: f.categoryId } : {}),
    ...(f.tag ? { tag: f.tag } : {}),
    ...(f.from ? { createdAfter: localMidnight(f.from) } : {}),
    ...(f.to ? { createdBefore: localMidnight(f.to, 1) } : {}),
  };
}
