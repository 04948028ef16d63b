import { usageStore } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createQuarantineApi } from './quarantine.js';

const store = usageStore();
const directory = tenantDirectory();

export const handler = createQuarantineApi({
  quarantined: (q) => store.quarantined(q),
  replay: (tenantId, id) => store.replay(tenantId, id),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
});
