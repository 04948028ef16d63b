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

/** DynamoDB refusing the data itself (a size or nesting limit, say): the same write can never succeed. */
const PERMANENT_ERRORS = new Set(['ValidationException']);
const PERMANENT_REASONS = new Set(['ValidationError']);

export interface CancellationReason {
  Code?: string;
  Message?: string;
  /** The item as it stood, when the write asked for it on a failed condition. */
  Item?: Record<string, { S?: string }>;
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** The per-item reasons of a cancelled transaction (in item order), or undefined for any other error. */
export function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (errorName(error) !== 'TransactionCanceledException') return undefined;
  return (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
}

export const isRetryableError = (error: unknown): boolean => RETRYABLE_ERRORS.has(errorName(error));

export const isRetryableReason = (code: string | undefined): boolean => RETRYABLE_REASONS.has(code ?? '');

export const isPermanentError = (error: unknown): boolean => PERMANENT_ERRORS.has(errorName(error));

export const isPermanentReason = (code: string | undefined): boolean => PERMANENT_REASONS.has(code ?? '');

/** Why DynamoDB refused a write, in its own words where the transaction gives them. */
export function refusalReason(error: unknown, reasons: CancellationReason[] | undefined): string {
  const refused = reasons?.find((r) => isPermanentReason(r.Code));
  return `DynamoDB refused the write: ${refused?.Message ?? (error as Error).message}`;
}
