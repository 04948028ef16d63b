import { usageStreamSubscriptions } from '../../shared/alerts/notifications.js';
import { eventPublisher, webhookStore } from '../../shared/composition/alerts.js';
import { correctionStore } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createCorrectionsApi } from './corrections.js';

const directory = tenantDirectory();
const store = correctionStore();
const publisher = eventPublisher();

export const handler = createCorrectionsApi({
  meters: (tenantId) => directory.listMeters(tenantId),
  apply: (tenantId, correctionId, eventId, decide) => store.apply(tenantId, correctionId, eventId, decide),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
  streams: usageStreamSubscriptions(webhookStore(), 60_000),
  publish: (event) => publisher.publish(event),
  now: Date.now,
});
