import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type FunctionName, functionSpecs } from '../infra/catalog.js';
import { lambdaContext } from '../local/lambda.js';
import { localStateFile } from '../local/state-dir.js';

/**
 * `npm run invoke -- <function> <event.json>`: runs one handler once, in this process, against the
 * stack `npm start` is running. In sample events, {{now}}, {{tenantId}}, {{tenantKey}} and {{adminKey}}
 * are replaced with the current time and the demo tenant's values.
 */
const root = resolve(import.meta.dirname, '..');
const [name, file] = process.argv.slice(2) as [FunctionName | undefined, string | undefined];
if (!name || !(name in functionSpecs) || !file) {
  console.error(`usage: npm run invoke -- <${Object.keys(functionSpecs).join('|')}> <events/sample.json>`);
  process.exit(2);
}
const stateFile = localStateFile();
if (!existsSync(stateFile)) {
  console.error('no local stack: run `npm start` in another terminal first');
  process.exit(1);
}
const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, string> & { env: Record<string, string> };
Object.assign(process.env, state.env);

const text = readFileSync(resolve(file), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, key: string) =>
  key === 'now' ? new Date().toISOString() : (state[key] ?? `{{${key}}}`),
);
const spec = functionSpecs[name];
const { handler } = (await import(resolve(root, spec.entry))) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
console.log(JSON.stringify(await handler(JSON.parse(text), lambdaContext(name, spec.timeoutSeconds)), null, 2));
