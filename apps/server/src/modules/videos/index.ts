/**
 * The videos module's public surface for other features (with `service.ts` for the service class). It
 * re-exports only what imports no other feature, so importing it can never close a dependency cycle.
 */

export { isHeld } from './detection-view';
export { keyOf, sealedKeyOf, sealKey } from './keys';
export * from './layout';
export * from './queries';
