import { rejectionStore, usageStore } from '../../shared/composition/metering.js';
import { rateLimiter } from '../../shared/composition/tenancy.js';
import { checkedBy } from '../../shared/platform/http.js';
import { createEventsApi } from './events.js';

const store = usageStore();
const rejections = rejectionStore();

export const handler = createEventsApi({
  event: (tenantId, id) => store.get(tenantId, id),
  quarantined: (q) => store.quarantined(q),
  rejected: (q) => rejections.list(q),
}).use(checkedBy(rateLimiter()));
