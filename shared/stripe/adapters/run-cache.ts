/**
 * Memoizes what one report run ensures in Stripe (a meter, a product, a price) so many tenants share
 * one call; a failed attempt is forgotten, so the next tenant that needs it tries again.
 */
export function ensureOnce<T>(cache: Map<string, Promise<T>>, key: string, ensure: () => Promise<T>): Promise<T> {
  let ensured = cache.get(key);
  if (!ensured) {
    ensured = ensure();
    ensured.catch(() => cache.delete(key));
    cache.set(key, ensured);
  }
  return ensured;
}
