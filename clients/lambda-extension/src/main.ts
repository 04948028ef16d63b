import { setPriority } from 'node:os';
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
// The function's handler comes first. Each hand-over wakes this process, and at the priority it was started with the
// kernel may run it at once on the CPU of the handler that wrote it, putting its parsing and journaling inside the
// function's request (below 1,769 MB a function has less than one vCPU's time for both). At the lowest priority (nice
// 19, which any process may take) it runs while the function waits for its next event, and alone at SHUTDOWN. It takes
// that priority once registered: Init, which Lambda bounds (10 s for every extension and the runtime together), runs at
// the function's priority, so a busy sandbox does not starve the registration. Nice is per thread on Linux: this is the
// thread that reads the socket.
function lowerPriority(): void {
  try {
    setPriority(19);
  } catch (error) {
    console.error(`[meterline extension] runs at the function's priority: ${(error as Error).message}`);
  }
}
runExtension({
  runtimeApi: env.AWS_LAMBDA_RUNTIME_API!,
  apiUrl: env.METERLINE_API_URL!,
  apiKey: env.METERLINE_API_KEY!,
  extensionAddress: env.METERLINE_EXTENSION_ADDRESS || DEFAULT_EXTENSION_ADDRESS,
  journalDir: env.METERLINE_EXTENSION_DIR || '/tmp/meterline-extension',
  ...(env.METERLINE_FLUSH_INTERVAL_MS ? { flushIntervalMs: Number(env.METERLINE_FLUSH_INTERVAL_MS) } : {}),
  onRegistered: lowerPriority,
}).then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`[meterline extension] ${error.message}`);
    process.exit(1);
  },
);
