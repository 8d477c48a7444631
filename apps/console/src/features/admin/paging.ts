// Cursor pages both ways: the API gives only the next page's cursor, so the cursors of the pages before the
// current one are kept on a stack ("Previous" pops it).
import { useState } from 'react';

export function useCursorPages() {
  const [stack, setStack] = useState<Array<string | undefined>>([undefined]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    number: stack.length,
    hasPrevious: stack.length > 1,
    next: (c: string) => setStack((s) => [...s, c]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}
