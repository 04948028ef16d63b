import { describe, expect, it } from 'vitest';
import {
  cancellationReasons,
  isPermanentError,
  isPermanentReason,
  isRetryableError,
  isRetryableReason,
  refusalReason,
} from '../../shared/platform/dynamo/errors.js';
import { awsError, cancelled, throttled } from '../support/fake-documents.js';

/** How the stores read DynamoDB's failures: what is worth another attempt, what never succeeds, and why a write was refused. */
describe('DynamoDB errors', () => {
  it("reads a cancelled transaction's reasons in item order; a cancellation without them has none; other errors are no cancellation", () => {
    expect(cancellationReasons(cancelled('None', 'ConditionalCheckFailed'))?.map((r) => r.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(cancellationReasons(awsError('TransactionCanceledException'))).toEqual([]);
    expect(cancellationReasons(throttled())).toBeUndefined();
    expect(cancellationReasons('not an error')).toBeUndefined();
  });

  it('throttling and conflicts are retried, as errors or as reasons; a reason-less item is neither retried nor permanent', () => {
    expect(isRetryableError(throttled())).toBe(true);
    expect(isRetryableError(awsError('ValidationException'))).toBe(false);
    expect(isRetryableReason('TransactionConflict')).toBe(true);
    expect(isRetryableReason(undefined)).toBe(false);
    expect(isPermanentReason(undefined)).toBe(false);
    expect(isPermanentError(awsError('ValidationException'))).toBe(true);
  });

  it("says why a write was refused in DynamoDB's per-item words where the transaction gives them, else in the error's", () => {
    const refused = cancelled('None', { Code: 'ValidationError', Message: 'Item size has exceeded the maximum allowed size' });
    expect(refusalReason(refused, cancellationReasons(refused))).toBe(
      'DynamoDB refused the write: Item size has exceeded the maximum allowed size',
    );
    const plain = awsError('ValidationException', 'One or more parameter values were invalid');
    expect(refusalReason(plain, undefined)).toBe('DynamoDB refused the write: One or more parameter values were invalid');
    expect(refusalReason(cancelled('ValidationError'), cancellationReasons(cancelled('ValidationError')))).toMatch(
      /^DynamoDB refused the write: /,
    );
  });
});
