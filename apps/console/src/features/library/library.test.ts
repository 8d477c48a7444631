import { describe, expect, it } from 'vitest';
import { FIRST_PAGE, hasPrevious, nextPage, pageNumber, previousPage } from './cursor-stack';
import {
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  NO_FILTERS,
  POLL_MS,
  pollInterval,
} from './filters';

describe('library cursor stack', () => {
  it('goes forward and back to the same cursors, never before the first page', () => {
    let s = FIRST_PAGE;
    expect(hasPrevious(s)).toBe(false);
    s = nextPage(s, 'c2');
    s = nextPage(s, 'c3');
    expect(s).toEqual({ current: 'c3', previous: [undefined, 'c2'] });
    expect(pageNumber(s)).toBe(3);
    s = previousPage(s);
    expect(s).toEqual({ current: 'c2', previous: [undefined] });
    s = previousPage(s);
    expect(s).toEqual(FIRST_PAGE);
    expect(previousPage(s)).toEqual(FIRST_PAGE);
  });
});

describe('library filters ⇄ URL query', () => {
  it('round-trips every filter and leaves defaults out of the URL', () => {
    const f = {
      q: 'keynote',
      status: 'processing' as const,
      categoryId: 'cat_1',
      tag: '会议',
      from: '2026-01-02',
      to: '2026-01-31',
      order: 'oldest' as const,
    };
    const search = filtersToSearch(f);
    expect(search.toString()).toBe(
      'q=keynote&status=processing&category=cat_1&tag=%E4%BC%9A%E8%AE%AE&from=2026-01-02&to=2026-01-31&order=oldest',
    );
    expect(filtersFromSearch(new URLSearchParams(search.toString()))).toEqual(f);
    expect(filtersToSearch(NO_FILTERS).toString()).toBe('');
  });

  it('ignores unknown and malformed values', () => {
    expect(
      filtersFromSearch(new URLSearchParams('status=done&order=random&from=2026-13-45&to=yesterday&x=1')),
    ).toEqual(NO_FILTERS);
  });

  it('turns the days into a half-open range of local midnights for the API', () => {
    const q = filtersToQuery({ ...NO_FILTERS, from: '2026-03-01', to: '2026-03-01', tag: 't' }, 25, 'cur');
    expect(q).toMatchObject({ limit: 25, cursor: 'cur', order: 'newest', tag: 't' });
    expect(new Date(q.createdAfter!).getTime()).toBe(new Date('2026-03-01T00:00:00').getTime());
    expect(new Date(q.createdBefore!).getTime()).toBe(new Date('2026-03-02T00:00:00').getTime());
    expect(q).not.toHaveProperty('q');
  });
});

describe('library polling', () => {
  it('polls while a listed video is not ready, errored or blocked, and stops once all are', () => {
    expect(pollInterval(undefined)).toBe(false);
    expect(pollInterval([])).toBe(false);
    expect(pollInterval([{ status: 'ready' }, { status: 'errored' }, { status: 'blocked' }])).toBe(false);
    for (const status of ['waiting_upload', 'uploading', 'queued', 'processing'] as const)
      expect(pollInterval([{ status: 'ready' }, { status }])).toBe(POLL_MS);
  });
});
