import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createAuthorizer } from './authorizer.js';

const directory = tenantDirectory();

export const handler = createAuthorizer({
  getApiKey: (keyId) => directory.getApiKey(keyId),
  getSession: (sessionId) => directory.getSession(sessionId),
});
