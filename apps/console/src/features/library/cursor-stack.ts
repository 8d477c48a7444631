// Cursor pagination going both ways: the API gives only the next page's cursor, so the cursors of the pages
// before the current one are kept on a stack ("Previous" pops it).

export interface CursorStack {
  /** The cursor of the page shown; undefined for the first page. */
  current: string | undefined;
  /** The cursors of the pages before it, oldest first. */
  previous: Array<string | undefined>;
}

export const FIRST_PAGE: CursorStack = { current: undefined, previous: [] };

export const nextPage = (s: CursorStack, nextCursor: string): CursorStack => ({
  current: nextCursor,
  previous: [...s.previous, s.current],
});

export const previousPage = (s: CursorStack): CursorStack =>
  s.previous.length === 0
    ? FIRST_PAGE
    : { current: s.previous[s.previous.length - 1], previous: s.previous.slice(0, -1) };

export const hasPrevious = (s: CursorStack): boolean => s.previous.length > 0;

/** 1 for the first page. */
export const pageNumber = (s: CursorStack): number => s.previous.length + 1;
