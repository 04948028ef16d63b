import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The official sample Lambda events in tests/fixtures/aws-events (aws/aws-lambda-go, Apache-2.0). */
export function officialSample<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'aws-events', name), 'utf8')) as T;
}
