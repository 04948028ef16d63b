/** A Stripe error answer: its HTTP status and Stripe's error object. */
export class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { type: string; message: string; code?: string; param?: string },
  ) {
    super(body.message);
  }
}

export const invalid = (message: string, param?: string, code?: string) =>
  new StripeHttpError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) });

export const missing = (type: string, id: string) =>
  new StripeHttpError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${type}: '${id}'`, param: 'id' });

export const found = <T>(map: Map<string, T>, type: string, id: string): T => {
  const value = map.get(id);
  if (!value) throw missing(type, id);
  return value;
};
