import { DEFAULT_EXTENSION_ADDRESS, runExtension } from './extension.js';

/**
 * The layer's executable (/opt/extensions/meterline). It reads the function's own environment, as every extension
 * does: METERLINE_API_URL and METERLINE_API_KEY, which the function's client reads too, and the CDK helper's
 * METERLINE_EXTENSION_ADDRESS.
 */
const env = process.env;
const missing = ['AWS_LAMBDA_RUNTIME_API', 'METERLINE_API_URL', 'METERLINE_API_KEY'].filter((name) => !env[name]);
if (missing.length) {
  console.error(`[meterline extension] missing ${missing.join(', ')}`);
  process.exit(1);
}
runExtension({
  runtimeApi: env.AWS_LAMBDA_RUNTIME_API!,
  apiUrl: env.METERLINE_API_URL!,
  apiKey: env.METERLINE_API_KEY!,
  extensionAddress: env.METERLINE_EXTENSION_ADDRESS || DEFAULT_EXTENSION_ADDRESS,
  journalDir: env.METERLINE_EXTENSION_DIR || '/tmp/meterline-extension',
  ...(env.METERLINE_FLUSH_INTERVAL_MS ? { flushIntervalMs: Number(env.METERLINE_FLUSH_INTERVAL_MS) } : {}),
}).then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`[meterline extension] ${error.message}`);
    process.exit(1);
  },
);
