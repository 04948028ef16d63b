import { inject, vi } from 'vitest';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';

export { eventually } from './eventually.js';

/**
 * The run's DynamoDB Local and SQS emulator. Importing this file is what puts a test file in the stack tier (see
 * tiers.ts); a file that reaches the emulators another way runs in the unit tier, where they are not started.
 */
export function emulatorEndpoints(): { dynamoEndpoint: string; sqsEndpoint: string } {
  const dynamoEndpoint = inject('dynamoEndpoint');
  const sqsEndpoint = inject('sqsEndpoint');
  if (!dynamoEndpoint || !sqsEndpoint)
    throw new Error(
      'This test file needs DynamoDB Local and the SQS emulator, but runs in a tier that does not start them: ' +
        'import startTestStack or emulatorEndpoints from tests/support/stack.ts in it (the import picks the tier), ' +
        'and restart vitest if it is watching.',
    );
  return { dynamoEndpoint, sqsEndpoint };
}

/**
 * A local stack on the run's shared emulators, with its own tables and queues. Its functions load afresh, as in a new
 * container: the stack tier's files share worker processes (vitest.config.ts), and a function's module reads its
 * stack's settings when it loads. Once it stops, the next file's imports load afresh too, rather than the modules this
 * stack's functions loaded (whose memos, such as the Stripe client's, hold this stack's endpoints). What does not read
 * them (npm packages) stays loaded from one stack to the next.
 */
export async function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  vi.resetModules();
  const stack = await startLocalStack({
    ...emulatorEndpoints(),
    visibilityTimeoutSeconds: 1,
    // A test fires each schedule itself: one firing on its own (invoicing at five past the hour, the export at 00:30)
    // would take the work a test's own run then expects to find.
    schedulesOnTime: false,
    ...options,
  });
  const stop = stack.stop;
  stack.stop = async () => {
    await stop();
    vi.resetModules();
  };
  return stack;
}

export function directoryOf(stack: LocalStack): DynamoTenantDirectory {
  return new DynamoTenantDirectory(documentClient(stack.dynamo), stack.env.TENANTS_TABLE!);
}

/** A tenant with the seed meters and one API key; returns the key's token. */
export async function createTenant(stack: LocalStack, tenantId: string, meters = seedMeters): Promise<string> {
  const directory = directoryOf(stack);
  await directory.createTenant({ id: tenantId, name: tenantId, createdAt: new Date().toISOString() });
  for (const meter of meters) await directory.putMeter(tenantId, meter);
  return (await issueApiKey(directory, { tenantId }, 'test', Date.now())).token;
}

export async function createAdminKey(stack: LocalStack): Promise<string> {
  return (await issueApiKey(directoryOf(stack), { admin: true }, 'test admin', Date.now())).token;
}

export async function api(
  stack: LocalStack,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  contentType = 'application/json',
) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
