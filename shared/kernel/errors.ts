/**
 * Client-facing failures. Every 4xx the API returns carries one of these codes; the codes are part of
 * the public contract, so add new ones rather than renaming old ones.
 */
export const errorStatus = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  /** A correction that would leave the event as it is counted. */
  NO_CHANGE: 409,
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** Codes for a single event in an ingest batch; they never fail the request as a whole. */
export type EventRejectionCode =
  | 'INVALID_EVENT'
  | 'UNKNOWN_METER'
  | 'INVALID_VALUE'
  | 'TIMESTAMP_IN_FUTURE'
  | 'TIMESTAMP_TOO_OLD'
  | 'EVENT_TOO_LARGE'
  | 'UNKNOWN_TENANT'
  | 'TENANT_NOT_ALLOWED'
  | 'INVALID_PROPERTIES'
  | 'ID_REUSED';

export class ClientError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ClientError';
    this.status = errorStatus[code];
  }
}

export interface Issue {
  message: string;
  field?: string;
}

/**
 * Turns the first zod issue into a message and a dotted field path ("events.3.timestamp"). A key a strict schema
 * does not know is the field itself ("vaule"), not the object holding it.
 */
export function firstIssue(error: {
  issues: ReadonlyArray<{ message: string; path: ReadonlyArray<PropertyKey>; code?: string; keys?: readonly string[] }>;
}): Issue {
  const issue = error.issues[0];
  if (!issue) return { message: 'invalid input' };
  const unknownKey = issue.code === 'unrecognized_keys' && issue.keys?.[0] !== undefined ? [issue.keys[0]] : [];
  const field = [...issue.path, ...unknownKey].map(String).join('.');
  return field ? { message: issue.message, field } : { message: issue.message };
}
