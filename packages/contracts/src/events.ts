import { z } from 'zod';

/**
 * The event types of the event log (modules/events), the one list: webhooks subscribe to them
 * (api.md "Webhooks") and the server emits only these.
 */
export const EVENT_TYPES = [
  'upload.completed',
  'video.playable',
  'video.ready',
  'video.errored',
  'video.deleted',
  'video.detection_completed',
  'recording.imported',
] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;
