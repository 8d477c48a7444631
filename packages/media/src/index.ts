export * from './argv';
export * from './classify';
export * from './encoders';
export * from './errors';
export * from './plan';
export * from './probe';
export * from './runner';
export * from './sniff';
