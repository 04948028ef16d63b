import { usageStore } from '../../shared/composition/metering.js';
import { createQuarantineApi } from './quarantine.js';

const store = usageStore();

export const handler = createQuarantineApi({
  quarantined: (q) => store.quarantined(q),
  replay: (tenantId, id) => store.replay(tenantId, id),
});
