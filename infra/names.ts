/** Construct ids from catalog and table names: `alert-evaluator` → `AlertEvaluator`. */
export function pascal(name: string): string {
  return name.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase());
}
