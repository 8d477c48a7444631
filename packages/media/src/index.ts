export * from './errors';
export * from './runner';
