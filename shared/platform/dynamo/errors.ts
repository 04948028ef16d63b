/** Failures worth another attempt after a backoff: throttling, transaction conflicts, transient service faults. */
const RETRYABLE_ERRORS = new Set([
  'TransactionConflictException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
]);

/** The same, as the per-item reasons of a cancelled TransactWriteItems. */
const RETRYABLE_REASONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** The per-item reasons of a cancelled transaction (in item order), or undefined for any other error. */
export function cancellationReasons(error: unknown): { Code?: string }[] | undefined {
  if (errorName(error) !== 'TransactionCanceledException') return undefined;
  return (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
}

export const isRetryableError = (error: unknown): boolean => RETRYABLE_ERRORS.has(errorName(error));

export const isRetryableReason = (code: string | undefined): boolean => RETRYABLE_REASONS.has(code ?? '');
