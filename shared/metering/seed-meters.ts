import type { Meter } from './meters.js';

/**
 * The meters both product documents Meterline grew from bill on. Seed 1 prices orders, invoices,
 * storage, API calls and AI jobs; seed 2 adds estimates and users (here `seats`, distinct user ids).
 */
export const seedMeters: Meter[] = [
  { key: 'orders', name: 'Orders', unit: 'order', aggregation: 'COUNT', groupBy: [] },
  { key: 'invoices', name: 'Invoices', unit: 'invoice', aggregation: 'COUNT', groupBy: [] },
  { key: 'api_calls', name: 'API calls', unit: 'call', aggregation: 'COUNT', groupBy: [] },
  { key: 'ai_jobs', name: 'AI jobs', unit: 'job', aggregation: 'COUNT', groupBy: ['job_type'] },
  { key: 'storage_gb', name: 'Storage', unit: 'GB', aggregation: 'LATEST', groupBy: [] },
  { key: 'estimates', name: 'Estimates', unit: 'estimate', aggregation: 'COUNT', groupBy: [] },
  { key: 'seats', name: 'Active users', unit: 'user', aggregation: 'UNIQUE_COUNT', valueProperty: 'user_id', groupBy: [] },
];
