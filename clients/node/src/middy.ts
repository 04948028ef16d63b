import type { MiddlewareObj, Request } from '@middy/core';
import { Metering, type MeteringOptions, type Refusal } from './metering.js';

export {
  type EntitlementOptions,
  type HandledRequest,
  Metering,
  type MeteringOptions,
  type MeteringStats,
  type QuotaOptions,
  type Refusal,
} from './metering.js';

/** The parts of API Gateway's events (HTTP API 2.0 and REST 1.0) the middleware reads. */
export interface HttpLikeEvent {
  routeKey?: string;
  resource?: string;
  httpMethod?: string;
  requestContext?: { http?: { method?: string } };
}

export interface MiddyMeteringOptions<E> extends MeteringOptions<E> {
  /**
   * Hand the invocation's events on before the handler's answer is returned (default true): Lambda freezes the
   * environment between invocations, so events left in the buffer would wait for the next one. With the Meterline
   * extension that is a write to its local socket; without it, a flush to Meterline.
   */
  flush?: boolean;
}

const answer = <R>(refusal: Refusal): R =>
  ({
    statusCode: refusal.statusCode,
    headers: { 'content-type': 'application/json', ...refusal.headers },
    body: JSON.stringify(refusal.body),
  }) as R;

/**
 * middy middleware: checks the hard quota before the handler (answering 429, 402 for a prepaid tenant out of
 * credits, or, failing closed, 503 without running it) and records one usage event per handled invocation,
 * errors included.
 * `requireFeature('sso')` is a handler's own gate: 403 FEATURE_NOT_INCLUDED unless the tenant's plan has it.
 */
export function meterline<E extends HttpLikeEvent, R>(
  options: MiddyMeteringOptions<E>,
): MiddlewareObj<E, R> & { metering: Metering<E>; requireFeature(feature: string): MiddlewareObj<E, R> } {
  const metering = new Metering<E>(options);
  const started = new WeakMap<object, { at: number; tenant?: string }>();

  const record = async (request: Request<E, R>, statusCode: number) => {
    const state = started.get(request);
    if (state?.tenant !== undefined) {
      const method = request.event.requestContext?.http?.method ?? request.event.httpMethod ?? '';
      const route = request.event.routeKey ?? (request.event.resource ? `${method} ${request.event.resource}` : 'unmatched');
      metering.record({
        request: request.event,
        tenant: state.tenant,
        statusCode,
        route,
        method,
        durationMs: performance.now() - state.at,
      });
    }
    if (options.flush ?? true) await options.client.release();
  };

  return {
    metering,
    before: async (request) => {
      const at = performance.now();
      const { tenant, refusal } = await metering.admit(request.event);
      started.set(request, tenant === undefined ? { at } : { at, tenant });
      if (refusal) {
        started.delete(request);
        return answer<R>(refusal);
      }
      return undefined;
    },
    requireFeature: (feature) => ({
      before: async (request) => {
        const { refusal } = await metering.requireFeature(request.event, feature);
        return refusal ? answer<R>(refusal) : undefined;
      },
    }),
    after: async (request) => {
      const status = (request.response as { statusCode?: number } | undefined)?.statusCode ?? 200;
      await record(request, status);
    },
    onError: async (request) => {
      const status = (request.error as { statusCode?: number } | undefined)?.statusCode ?? 500;
      await record(request, status);
    },
  };
}
