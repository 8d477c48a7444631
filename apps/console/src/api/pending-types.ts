// The accounts API (issue 16, branch `accounts`), written from its agreed contract until the server's
// OpenAPI document has it. DELETE THIS FILE when packages/sdk/src/generated/openapi.ts includes these paths
// (`npm run gen:sdk` after the merge), and use `vc.api` directly in ./client.ts.

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface User {
  id: string;
  email: string;
  name: string | null;
  role: Role | null;
  tenantId: string | null;
  tenantName: string | null;
  platformAdmin: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface Session {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

export interface Invitation {
  email: string;
  /** null: an invitation of a platform admin (no tenant). */
  tenantName: string | null;
  role: Role | null;
  kind: 'invite' | 'reset';
  expiresAt: string;
}

interface Problem {
  code: string;
  detail: string;
}

type Json<T> = { content: { 'application/json': T } };
type Errors = { 401: Json<Problem>; 404: Json<Problem>; 429: Json<Problem> };

/** The pending paths in openapi-typescript's shape, so that openapi-fetch types their calls. */
export interface PendingPaths {
  '/v1/sessions': {
    post: {
      requestBody: Json<{ email: string; password: string }>;
      responses: { 201: Json<Session> } & Errors;
    };
  };
  '/v1/sessions/current': {
    get: { responses: { 200: Json<Session> } & Errors };
    delete: { responses: { 204: { content?: never } } & Errors };
  };
  '/v1/sessions/current/password': {
    post: {
      requestBody: Json<{ currentPassword: string; newPassword: string }>;
      responses: { 204: { content?: never } } & Errors;
    };
  };
  '/v1/invitations/{token}': {
    get: { parameters: { path: { token: string } }; responses: { 200: Json<Invitation> } & Errors };
  };
  '/v1/invitations/{token}/accept': {
    post: {
      parameters: { path: { token: string } };
      requestBody: Json<{ password: string; name?: string }>;
      responses: { 201: Json<Session> } & Errors;
    };
  };
}
