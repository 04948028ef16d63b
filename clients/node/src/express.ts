import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Metering, type MeteringOptions } from './metering.js';

export {
  type EntitlementOptions,
  type HandledRequest,
  Metering,
  type MeteringOptions,
  type MeteringStats,
  type QuotaOptions,
  type Refusal,
} from './metering.js';

/**
 * Express middleware: checks the hard quota before the route runs (answering 429, 402 for a prepaid tenant out
 * of credits, or 503 when failing closed) and records one usage event when the response has been sent, with its
 * status and route template.
 * `requireFeature('sso')` is a route's own gate: 403 FEATURE_NOT_INCLUDED unless the tenant's plan has it.
 */
export function meterline(
  options: MeteringOptions<Request>,
): RequestHandler & { metering: Metering<Request>; requireFeature(feature: string): RequestHandler } {
  const metering = new Metering<Request>(options);
  const requireFeature =
    (feature: string): RequestHandler =>
    (req, res, next) => {
      metering.requireFeature(req, feature).then(({ refusal }) => {
        if (refusal) res.status(refusal.statusCode).set(refusal.headers).json(refusal.body);
        else next();
      }, next);
    };
  const handler = (req: Request, res: Response, next: NextFunction) => {
    const at = performance.now();
    metering.admit(req).then(({ tenant, refusal }) => {
      if (refusal) {
        res.status(refusal.statusCode).set(refusal.headers).json(refusal.body);
        return;
      }
      if (tenant !== undefined) {
        res.once('finish', () => {
          const route = req.route?.path ? `${req.method} ${req.baseUrl}${String(req.route.path)}` : 'unmatched';
          metering.record({
            request: req,
            tenant,
            statusCode: res.statusCode,
            route,
            method: req.method,
            durationMs: performance.now() - at,
          });
        });
      }
      next();
    }, next);
  };
  return Object.assign(handler, { metering, requireFeature });
}
