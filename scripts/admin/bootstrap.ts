import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../../shared/tenancy/tenants.js';
import { type Command, need } from './command.js';

/**
 * The first admin key cannot come from the admin API, which needs one. It is written straight into the
 * tenants table with the operator's own AWS credentials: IAM is the root of trust.
 */
export const bootstrapCommand: Command = {
  name: 'bootstrap',
  usage: '--table <TenantsTable name from the stack outputs> [--region eu-west-1] [--name ops]',
  run: async (f) => {
    const client = new DynamoDBClient(f.region ? { region: f.region } : {});
    const directory = new DynamoTenantDirectory(documentClient(client), need(f, 'table'));
    const { token, key } = await issueApiKey(directory, { admin: true }, f.name ?? 'bootstrap', new Date());
    return { ...key, token, note: 'store the token now: it is shown once and kept only as a hash' };
  },
};
