import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { canWrite } from '../../app/roles';
import { useSession } from '../../app/session';
import { registerMessages } from '../../i18n';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { PageTitle } from '../../ui/PageTitle';
import {
  type CursorStack,
  FIRST_PAGE,
  hasPrevious,
  nextPage,
  pageNumber,
  previousPage,
} from './cursor-stack';
import { FilterBar } from './FilterBar';
import {
  ACTIVE_STATUSES,
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  type LibraryFilters,
} from './filters';
import { messages } from './messages';
import { VideoTable } from './VideoTable';

registerMessages('library', messages);

const PAGE_SIZE = 25;
/** While a listed video is uploading, queued or processing, the page is read again this often. */
const POLL_MS = 2_000;

export default function LibraryPage() {
  const { t } = useTranslation('library');
  const writer = canWrite(useSession().data?.user);
  const [search, setSearch] = useSearchParams();
  const filters = filtersFromSearch(search);
  const filterKey = filtersToSearch(filters).toString();
  // The cursor stack belongs to one set of filters: other filters start again at the first page.
  const [pages, setPages] = useState<{ key: string; stack: CursorStack }>({
    key: filterKey,
    stack: FIRST_PAGE,
  });
  const stack = pages.key === filterKey ? pages.stack : FIRST_PAGE;
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState('');
  const client = useQueryClient();

  const query = filtersToQuery(filters, PAGE_SIZE, stack.current);
  const list = useQuery({
    queryKey: ['videos', query],
    queryFn: async () => unwrap(await api.GET('/v1/videos', { params: { query } })),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.data.some((v) => ACTIVE_STATUSES.has(v.status)) ? POLL_MS : false),
  });
  const categories = useQuery({
    queryKey: ['categories'],
    queryFn: async () => unwrap(await api.GET('/v1/categories', { params: { query: { limit: 100 } } })).data,
    staleTime: 60_000,
  });

  const setFilters = (f: LibraryFilters) => {
    setSelected(new Set());
    setSearch(filtersToSearch(f));
  };
  const go = (next: CursorStack) => {
    setSelected(new Set());
    setPages({ key: filterKey, stack: next });
  };
  const select = (ids: string[], on: boolean) =>
    setSelected((prev) => {
      const s = new Set(prev);
      for (const id of ids)
        if (on) s.add(id);
        else s.delete(id);
      return s;
    });

  const counts = (done: number, failed: number, key: 'deleted' | 'blocked') =>
    [t(key, { count: done }), failed ? t('failed', { count: failed }) : ''].filter(Boolean).join(' ');
  const bulkBlock = useMutation({
    mutationFn: async (ids: string[]) =>
      Promise.allSettled(
        ids.map(async (id) => unwrap(await api.POST('/v1/videos/{id}/block', { params: { path: { id } } }))),
      ),
    onSuccess: (results) => {
      const failed = results.filter((r) => r.status === 'rejected').length;
      setNotice(counts(results.length - failed, failed, 'blocked'));
      setSelected(new Set());
    },
    onSettled: () => client.invalidateQueries({ queryKey: ['videos'] }),
  });
  const bulkDelete = useMutation({
    mutationFn: async (ids: string[]) => unwrap(await api.POST('/v1/videos/batch-delete', { body: { ids } })),
    onSuccess: (r) => {
      setNotice(counts(r.deleted.length, r.failed.length, 'deleted'));
      setSelected(new Set());
      setConfirming(false);
      // The page may now be empty: start again at the first one.
      go(FIRST_PAGE);
    },
    onSettled: () => client.invalidateQueries({ queryKey: ['videos'] }),
  });
  const bulkError = bulkBlock.error ?? bulkDelete.error;

  const videos = list.data?.data ?? [];
  const nextCursor = list.data?.nextCursor ?? null;
  const filtered = filterKey !== '' && filterKey !== 'order=oldest';
  const ids = [...selected];

  return (
    <section className="page">
      <div className="page-head">
        <PageTitle>{t('title')}</PageTitle>
        {writer && (
          <Link to="/upload" className="button primary">
            {t('upload')}
          </Link>
        )}
      </div>
      <FilterBar filters={filters} categories={categories.data ?? []} onChange={setFilters} />
      <p role="status" className="notice">
        {notice}
      </p>
      {writer && selected.size > 0 && (
        <div className="bulk-bar">
          <span>{t('selected', { count: selected.size })}</span>
          <button
            type="button"
            className="button"
            disabled={bulkBlock.isPending}
            onClick={() => bulkBlock.mutate(ids)}
          >
            {t('block')}
          </button>
          <button type="button" className="button danger" onClick={() => setConfirming(true)}>
            {t('delete')}
          </button>
        </div>
      )}
      {bulkError && (
        <p className="error" role="alert">
          {errorMessage(bulkError, t)}
        </p>
      )}
      {list.isError ? (
        <div className="error-box" role="alert">
          <p>{errorMessage(list.error, t)}</p>
          <button type="button" className="button" onClick={() => void list.refetch()}>
            {t('common:retry')}
          </button>
        </div>
      ) : list.isPending ? (
        <p role="status">{t('common:loading')}</p>
      ) : videos.length === 0 && !hasPrevious(stack) ? (
        <p className="empty">{filtered ? t('noMatch') : t('empty')}</p>
      ) : (
        <VideoTable videos={videos} {...(writer ? { selected, onSelect: select } : {})} />
      )}
      <nav className="pager" aria-label={t('pagination')}>
        <button
          type="button"
          className="button"
          disabled={!hasPrevious(stack)}
          onClick={() => go(previousPage(stack))}
        >
          {t('previous')}
        </button>
        <span aria-live="polite">{t('page', { n: pageNumber(stack) })}</span>
        <button
          type="button"
          className="button"
          disabled={!nextCursor || list.isPlaceholderData}
          onClick={() => nextCursor && go(nextPage(stack, nextCursor))}
        >
          {t('next')}
        </button>
      </nav>
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={t('confirmDeleteTitle', { count: selected.size })}
        confirmLabel={t('delete')}
        busy={bulkDelete.isPending}
        onConfirm={() => bulkDelete.mutate(ids)}
      >
        <p>{t('confirmDeleteBody', { count: selected.size })}</p>
      </ConfirmDialog>
    </section>
  );
}
