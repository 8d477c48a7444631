import { api, unwrap } from '../../api/client';
import { useLiveQuery } from './live';

/** GET /v1/admin/cluster, live: the Cluster and Queues views share it (one request per 5 s). */
export const useCluster = () =>
  useLiveQuery(['admin', 'cluster'], async () => unwrap(await api.GET('/v1/admin/cluster')));
