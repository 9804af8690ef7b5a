import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Histogram } from 'prom-client';
import { MetricsRegistry, UNMATCHED_ROUTE } from '@app/observability';
import { QUEUES_BASE_PATH } from '../admin/queues-admin.module';

export const HTTP_DURATION_METRIC = 'enrollment_sync_http_request_duration_seconds';

/**
 * `enrollment_sync_http_request_duration_seconds{method,route,status}`: the route label is the
 * route's pattern (`/api/v2/course/:courseId/users`), never the URL, so ids and query strings
 * cannot grow the number of series; the method comes from Node's HTTP parser, which knows a
 * fixed set.
 */
@Injectable()
export class HttpMetrics implements NestMiddleware {
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(registry: MetricsRegistry) {
    this.duration =
      (registry.getSingleMetric(HTTP_DURATION_METRIC) as Histogram<'method' | 'route' | 'status'> | undefined) ??
      new Histogram({
        name: 'enrollment_sync_http_request_duration_seconds',
        help: 'Read API request durations by method, route pattern and status code',
        labelNames: ['method', 'route', 'status'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      });
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.duration.startTimer();
    res.once('finish', () => end({ method: req.method, route: routeLabel(req), status: String(res.statusCode) }));
    next();
  }
}

/**
 * The pattern of the route that handled `req`, read once the response is sent: the metric's
 * route label and the request log line's `route`. Requests no route matched (404s, refusals
 * before routing) are `unmatched`.
 */
export function routeLabel(req: Request): string {
  const path = (req.originalUrl ?? req.url).split('?')[0];
  const route: unknown = (req.route as { path?: unknown } | undefined)?.path;
  // Nest runs app-wide middleware as a catch-all route (`{/*splat}`): that is no route of ours.
  const pattern = typeof route === 'string' && route.includes('*') ? undefined : route;
  if (path === QUEUES_BASE_PATH || path.startsWith(`${QUEUES_BASE_PATH}/`)) {
    // Bull Board's own router matched relative to where it is mounted; its pages share one label.
    if (Array.isArray(pattern)) return `${QUEUES_BASE_PATH} (page)`;
    return typeof pattern === 'string' ? `${QUEUES_BASE_PATH}${pattern}` : `${QUEUES_BASE_PATH}/*`;
  }
  return typeof pattern === 'string' ? pattern : UNMATCHED_ROUTE;
}
