import type { Migration } from 'kysely';
import * as m001 from './001_initial';
import * as m002 from './002_jobs';
import * as m003 from './003_uploads';
import * as m004 from './004_webhooks';
import * as m005 from './005_pipeline';
import * as m006 from './006_playback';
import * as m007 from './007_beacons';
import * as m008 from './008_delivery';
import * as m009 from './009_timings';
import * as m010 from './010_rpc_stats';
import * as m011 from './011_alerts';
import * as m012 from './012_video_jobs';
import * as m013 from './013_published_hls_key';
import * as m014 from './014_audit';
import * as m015 from './015_sealed_secrets';
import * as m016 from './016_event_dispatch';
import * as m017 from './017_idempotency';
import * as m018 from './018_accounts';
import * as m019 from './019_statistics';
import * as m020 from './020_detection';
import * as m021 from './021_recordings';

/**
 * Every migration, in order. Names are permanent: add new files with the next number,
 * never edit or reorder applied ones. Other modules (queue, uploads, …) add theirs here.
 */
export const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_jobs': m002,
  '003_uploads': m003,
  '004_webhooks': m004,
  '005_pipeline': m005,
  '006_playback': m006,
  '007_beacons': m007,
  '008_delivery': m008,
  '009_timings': m009,
  '010_rpc_stats': m010,
  '011_alerts': m011,
  '012_video_jobs': m012,
  '013_published_hls_key': m013,
  '014_audit': m014,
  '015_sealed_secrets': m015,
  '016_event_dispatch': m016,
  '017_idempotency': m017,
  '018_accounts': m018,
  '019_statistics': m019,
  '020_detection': m020,
  '021_recordings': m021,
};
