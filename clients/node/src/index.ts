export type { components } from './api.js';
export {
  type ClientStats,
  type DropReason,
  type Entitlement,
  type Logger,
  Meterline,
  MeterlineError,
  type MeterlineOptions,
  type QuotaStatus,
  type Rejection,
  type TrackEvent,
} from './client.js';
export { uuidv7 } from './ids.js';
