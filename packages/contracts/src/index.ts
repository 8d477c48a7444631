export * from './categories';
export * from './common';
export * from './playback';
export * from './templates';
export * from './tenants';
export * from './uploads';
export * from './videos';
export * from './webhooks';
