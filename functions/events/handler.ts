import { ledgerReader, rejectionStore } from '../../shared/composition/metering.js';
import { rateLimiter } from '../../shared/composition/tenancy.js';
import { checkedBy } from '../../shared/platform/http.js';
import { createEventsApi } from './events.js';

const ledger = ledgerReader();
const rejections = rejectionStore();

export const handler = createEventsApi({
  event: (tenantId, id) => ledger.get(tenantId, id),
  quarantined: (q) => ledger.quarantined(q),
  rejected: (q) => rejections.list(q),
}).use(checkedBy(rateLimiter()));
