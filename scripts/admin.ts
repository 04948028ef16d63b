import { billingCommands } from './admin/billing.js';
import { bootstrapCommand } from './admin/bootstrap.js';
import { target } from './admin/client.js';
import type { Command } from './admin/command.js';
import { eventCommands } from './admin/events.js';
import { tenantCommands } from './admin/tenants.js';

/**
 * `npm run admin -- <command> [--flag value]`: the admin API from a terminal. Every command but
 * `bootstrap` goes through the HTTP API with an admin key.
 */
const commands: Command[] = [bootstrapCommand, ...tenantCommands, ...billingCommands, ...eventCommands];

function parse(argv: string[]): { words: string[]; flags: Record<string, string> } {
  const words: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const next = argv[i + 1];
      flags[a.slice(2)] = next !== undefined && !next.startsWith('--') ? (i++, next) : '';
    } else words.push(a);
  }
  return { words, flags };
}

const { words, flags } = parse(process.argv.slice(2));
const command = commands.find((c) => c.name === words.join(' '));
if (!command) {
  console.log('usage: npm run admin -- <command> [flags]\n');
  for (const c of commands) console.log(`  ${c.name} ${c.usage}`);
  process.exit(words.length === 0 ? 0 : 2);
}
try {
  const result = await command.run(flags, () => target(flags));
  if (result !== undefined && result !== null) console.log(JSON.stringify(result, null, 2));
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
