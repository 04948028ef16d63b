import { tenantDirectory } from '../../shared/composition/root.js';
import { createAuthorizer } from './authorizer.js';

const directory = tenantDirectory();

export const handler = createAuthorizer({
  getApiKey: (keyId) => directory.getApiKey(keyId),
  getSession: (sessionId) => directory.getSession(sessionId),
});
