/**
 * The rpc module's public surface for other features: defining a service (define.ts), the services of
 * the platform (contracts.ts), the Rpc that calls and provides them (rpc.ts) and its errors.
 */
export { STRATEGIES, type Strategy } from './balance';
export { detectionService, mediaService, monitorService, recordingService } from './contracts';
export {
  type CallContext,
  type CallOptions,
  type Client,
  defineService,
  type Impl,
  type MethodDef,
  registryName,
  type ServiceDef,
} from './define';
export { type ClusterMode, RPC_PATH, Rpc, RpcError, type RpcOptions } from './rpc';
