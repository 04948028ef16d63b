import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readLocalState } from '../../local/state.js';
import { type Command, need, text, UsageError } from './command.js';

/**
 * The first admin key cannot come from the admin API, which needs one. It is written straight into the
 * tenants table with the operator's own AWS credentials: IAM is the root of trust.
 */
export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: "write the first admin key into the tenants table with the operator's AWS credentials",
  options: {
    table: { type: 'string', description: 'TenantsTable name from the stack outputs (required unless --local)', value: '<table>' },
    region: { type: 'string', description: 'AWS region (default: the SDK configuration)', value: 'eu-west-1' },
    local: { type: 'boolean', description: 'the stack `npm start` runs: its tenants table on DynamoDB Local, to rehearse' },
    name: { type: 'string', description: 'key name (default "bootstrap")', value: '<name>' },
  },
  run: async (f) => {
    // Loaded here: every other command talks to the admin API and has no use for the AWS SDK.
    const [{ DynamoDBClient }, { documentClient }, { DynamoTenantDirectory }, { issueApiKey }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../../shared/platform/dynamo/client.js'),
      import('../../shared/tenancy/adapters/tenant-directory.js'),
      import('../../shared/tenancy/api-keys.js'),
    ]);
    let client: DynamoDBClient;
    let table: string;
    if (f.local) {
      const state = readLocalState();
      if (!state) throw new Error('no local stack: run `npm start` first');
      const {
        AWS_REGION: region,
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
      } = state.env;
      client = new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! } });
      table = state.env.TENANTS_TABLE!;
    } else {
      if (f.table === undefined) throw new UsageError('--table is required (or --local)');
      const region = text(f, 'region');
      client = new DynamoDBClient(region ? { region } : {});
      table = need(f, 'table');
    }
    const directory = new DynamoTenantDirectory(documentClient(client), table);
    const { token, key } = await issueApiKey(directory, { admin: true }, text(f, 'name') ?? 'bootstrap', Date.now());
    return { ...key, token, note: 'store the token now: it is shown once and kept only as a hash' };
  },
};
