export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/** A namespace's strings in every language (the English ones are the reference: same keys in zh-CN). */
export type Messages<T = Record<string, unknown>> = Record<Language, T>;
