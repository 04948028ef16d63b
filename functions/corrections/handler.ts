import { correctionStore } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createCorrectionsApi } from './corrections.js';

const directory = tenantDirectory();
const store = correctionStore();

export const handler = createCorrectionsApi({
  meters: (tenantId) => directory.listMeters(tenantId),
  apply: (tenantId, correctionId, eventId, decide) => store.apply(tenantId, correctionId, eventId, decide),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
  now: Date.now,
});
