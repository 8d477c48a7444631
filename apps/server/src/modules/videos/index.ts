/** The videos module's public surface: other features import from here (or the service), never the repository. */
export * from './layout';
export { type VideoHooks, VideoService, type VideoView, videoView } from './service';
