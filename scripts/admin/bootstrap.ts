import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { type Command, need, text } from './command.js';

/**
 * The first admin key cannot come from the admin API, which needs one. It is written straight into the
 * tenants table with the operator's own AWS credentials: IAM is the root of trust.
 */
export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: "write the first admin key into the tenants table with the operator's AWS credentials",
  options: {
    table: { type: 'string', description: 'TenantsTable name from the stack outputs', required: true, value: '<table>' },
    region: { type: 'string', description: 'AWS region (default: the SDK configuration)', value: 'eu-west-1' },
    name: { type: 'string', description: 'key name (default "bootstrap")', value: '<name>' },
  },
  run: async (f) => {
    const region = text(f, 'region');
    const client = new DynamoDBClient(region ? { region } : {});
    const directory = new DynamoTenantDirectory(documentClient(client), need(f, 'table'));
    const { token, key } = await issueApiKey(directory, { admin: true }, text(f, 'name') ?? 'bootstrap', Date.now());
    return { ...key, token, note: 'store the token now: it is shown once and kept only as a hash' };
  },
};
