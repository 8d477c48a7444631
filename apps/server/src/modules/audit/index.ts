export {
  type AuditedRoute,
  type AuditRule,
  auditedRoutes,
  auditRule,
  derivedAction,
  registerAudit,
} from './recorder';
export { auditRoutes } from './routes';
export { AuditService } from './service';
export { type AuditConfig, type AuditNote, noteAudit } from './types';
