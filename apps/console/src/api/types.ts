// The accounts types the shell uses, from the SDK's generated OpenAPI types (npm run gen:sdk).
import type { components } from '@vodcloud/sdk';

type Schemas = components['schemas'];
export type User = Schemas['User'];
export type Role = NonNullable<User['role']>;
export type Session = Schemas['Session'];
export type Invitation = Schemas['Invitation'];
export type VideoStats = Schemas['VideoStats'];
export type UsageStats = Schemas['UsageStats'];
export type TopVideo = Schemas['TopVideo'];
export type BreakdownRow = Schemas['BreakdownRow'];
export type TenantUsage = Schemas['TenantUsage'];
