import { seedMeters } from '../shared/catalog.js';
import { type TenantDirectory, issueApiKey } from '../shared/tenants.js';

export interface DemoSeed {
  adminKey: string;
  tenantId: string;
  tenantKey: string;
}

/** An admin key and a demo tenant with the seed documents' meters and one API key. */
export async function seedDemo(directory: TenantDirectory, now = new Date()): Promise<DemoSeed> {
  const admin = await issueApiKey(directory, { admin: true }, 'local admin', now);
  const tenantId = 'demo';
  await directory.createTenant({ id: tenantId, name: 'Optical Labs Inc. (demo)', status: 'active', createdAt: now.toISOString() });
  for (const meter of seedMeters) await directory.putMeter(tenantId, meter);
  const tenant = await issueApiKey(directory, { tenantId }, 'demo', now);
  return { adminKey: admin.token, tenantId, tenantKey: tenant.token };
}
