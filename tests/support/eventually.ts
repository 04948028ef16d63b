/**
 * Polls `read` until `done` holds (webhook deliveries and the consumer are asynchronous): `attempts` reads 50 ms apart,
 * about 15 s at least by default, for a loaded machine.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, attempts = 300): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}
