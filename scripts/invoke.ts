import { type FunctionName, functionSpecs } from '../infra/catalog.js';
import { invokeSample } from '../local/invoke.js';
import { readLocalState } from '../local/state.js';

/**
 * `npm run invoke -- <function> <events/file.json>`: runs one handler once, in this process, against the stack
 * `npm start` is running. A sample's file name starts with its function (`usage.current.json` is for `usage`); the
 * placeholders a sample may hold are in local/invoke.ts.
 */
const args = process.argv.slice(2);
const [name, file] = args as [FunctionName | undefined, string | undefined];
if (args.length !== 2 || !name || !(name in functionSpecs) || !file) {
  console.error(`usage: npm run invoke -- <${Object.keys(functionSpecs).join('|')}> <events/sample.json>`);
  process.exit(2);
}
const state = readLocalState();
if (!state) {
  console.error('no local stack: run `npm start` in another terminal first');
  process.exit(1);
}
console.log(JSON.stringify(await invokeSample(name, file, state), null, 2));
