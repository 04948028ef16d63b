/**
 * Polls `read` until `done` holds (webhook deliveries, mail and the consumer are asynchronous), for `timeoutMs` at most:
 * 15 s by default, for a loaded machine.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}
