import { ClientError } from '../../shared/kernel/errors.js';
import { type HttpResult, json } from '../../shared/platform/http.js';

/**
 * OpenMeter's ingest contract (`POST /api/v1/events`, CloudEvents; 204 when every event is taken; RFC 7807
 * problems otherwise), so an OpenMeter client works with a base URL and a Meterline key. A request with
 * rejected events is answered 400 with each event's outcome in `results`; the accepted ones are counted,
 * and re-sending the batch is safe. With a service key an event's tenant is its `tenant` extension or,
 * as in OpenMeter where the subject is the customer, its `subject`.
 */
export const OPENMETER_ROUTE = 'POST /api/v1/events';

export async function openMeterAnswer(run: () => Promise<{ status: number; body: Record<string, unknown> }>): Promise<HttpResult> {
  const problem = (
    status: number,
    title: string,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => json(status, { type: 'about:blank', title, status, detail, ...extra }, { 'content-type': 'application/problem+json', ...headers });
  try {
    const { status, body } = await run();
    const { code: _code, message: _message, ...outcome } = body;
    if (status === 503) return problem(503, 'Service Unavailable', String(body.message), outcome, { 'retry-after': '1' });
    if ((body.rejected as number) > 0)
      return problem(400, 'Bad Request', `${body.rejected} of the events were rejected; the others were accepted`, outcome);
    return { statusCode: 204 };
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    return problem(error.status, error.code, error.message, { code: error.code, ...(error.field ? { field: error.field } : {}) });
  }
}

/** OpenMeter's clients may leave out `specversion` and `source`, which its API defaults. */
export function withCloudEventDefaults(item: unknown): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  return { specversion: '1.0', source: 'openmeter-api', ...item };
}
