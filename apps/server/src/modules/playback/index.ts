/**
 * The playback module's public surface for other features: the playback gate (every check a playback
 * request passes), the token audiences, and the service (signing keys, tokens, referrer policies).
 */
export { type GateQuery, type GateResult, PLAYBACK_ID, PlaybackGate, servedGeneration } from './gate';
export type { Audience } from './jwt';
export { PlaybackService, type VideoLookup } from './service';
