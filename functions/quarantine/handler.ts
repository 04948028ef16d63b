import { ledgerReader, quarantineReplay } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createQuarantineApi } from './quarantine.js';

const ledger = ledgerReader();
const replays = quarantineReplay();
const directory = tenantDirectory();

export const handler = createQuarantineApi({
  quarantined: (q) => ledger.quarantined(q),
  replay: (tenantId, id) => replays.replay(tenantId, id),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
});
