import { courseEnrollmentSchema, ENROLLMENT_ID_PATTERN, JsonSchema } from '@app/contracts';
import { JOIN_STATUSES } from '@app/domain';

/**
 * The read API's OpenAPI 3.1 description. The CourseEnrollments shape (and what it references)
 * is generated from the contracts lib's schema, the same one that validates published events
 * and generates docs/asyncapi.yaml; paths and the community views are described here, and the
 * integration suite checks every route is listed.
 */
const CONTRACT_SCHEMAS: Record<string, JsonSchema> = {};
courseEnrollmentSchema.json({
  ref(name, build) {
    if (!Object.hasOwn(CONTRACT_SCHEMAS, name)) {
      CONTRACT_SCHEMAS[name] = {};
      CONTRACT_SCHEMAS[name] = build();
    }
    return { $ref: `#/components/schemas/${name}` };
  },
});
const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });
const dateTime = { type: ['string', 'null'], format: 'date-time' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad parameter: the message names it (an unknown, repeated or array-form parameter is one too)',
  401: 'Missing or invalid bearer token',
  404: 'Not found',
  429: 'Too many failed authentications from this address (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_MS); retry after Retry-After seconds',
  503: 'The database is unavailable or out of connections; retry after Retry-After seconds',
};
const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } } };
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description: ERROR_DESCRIPTIONS[c],
        ...(c === 429 || c === 503 ? { headers: retryAfter } : {}),
        content: { 'application/json': { schema: ref('Error') } },
      },
    ]),
  );
const intParam = (name: string, description: string, where: 'query' | 'path' = 'query') => ({
  name,
  in: where,
  required: where === 'path',
  description,
  schema: { type: 'integer', minimum: 1 },
});
const dtParam = (op: string) => ({
  name: `updated_at[${op}]`,
  in: 'query',
  description: `updated_at ${op} this RFC 3339 date-time`,
  schema: { type: 'string', format: 'date-time' },
});

const courseFields = {
  id: { type: 'integer' },
  name: nullable('string'),
  slug: nullable('string'),
  description: nullable('string'),
  type: nullable('string'),
  privacy: nullable('string'),
  enforce_lessons_order: nullable('boolean'),
  new_comment_notification_enabled: nullable('boolean'),
  hide_member_count: nullable('boolean'),
  meta_title: nullable('string'),
  meta_description: nullable('string'),
  og_title: nullable('string'),
  og_description: nullable('string'),
  og_image: nullable('string'),
  image_bigger: nullable('string'),
  image_big: nullable('string'),
  image_medium: nullable('string'),
  image_small: nullable('string'),
  deleted: { type: 'boolean' },
  created_at: dateTime,
  created_by: {
    oneOf: [
      { type: 'null' },
      { type: 'object', properties: { id: { type: 'integer' }, username: { type: 'string' }, real_name: { type: 'string' }, avatar: nullable('string') } },
    ],
  },
  categories: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } } },
};
// Course Dashboard (seed 001) has neither the description nor the two course settings.
const { description: _d, enforce_lessons_order: _e, new_comment_notification_enabled: _n, ...dashboardCourseFields } = courseFields;
void [_d, _e, _n];
const joinStatus = { type: ['string', 'null'], enum: [...JOIN_STATUSES, null] };

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'enrollment-sync read API',
    version: '1.0.0',
    description:
      'The enrollment projection over HTTP: the unified LMS CourseEnrollments dialect and the community course views. ' +
      'Every path but /health/* and /metrics needs `Authorization: Bearer <token>`. ' +
      'A parameter a route does not declare, a repeated one (but statuses on the member list) or an array form such as course_id[] is a 400 naming it; ' +
      'next/previous links are built on PUBLIC_URL, or relative.',
  },
  security: [{ bearer: [] }],
  paths: {
    '/unified/lms/course-enrollments': {
      get: {
        operationId: 'listCourseEnrollments',
        summary: 'List CourseEnrollments, ordered by (updated_at, id), with an opaque cursor',
        description:
          'Walking every page returns each matching enrollment once when nothing changes meanwhile; one that changes during the walk may come again later, and none is skipped. ' +
          'Rows a still-open write could land behind are held back until it ends, so a client that resumes from the last updated_at it saw (updated_at[gt]) misses nothing.',
        parameters: [
          intParam('course_id', 'only this course'),
          intParam('user_id', 'only this user'),
          { name: 'status', in: 'query', description: 'comma-separated statuses', schema: { type: 'string' } },
          dtParam('gt'),
          dtParam('gte'),
          dtParam('lt'),
          dtParam('lte'),
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          { name: 'next_cursor', in: 'query', description: 'opaque cursor from the previous page', schema: { type: 'string' } },
        ],
        responses: {
          200: {
            description: 'A page',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['result', 'next_cursor'],
                  properties: { result: { type: 'array', items: ref('CourseEnrollments') }, next_cursor: nullable('string') },
                },
              },
            },
          },
          ...errors(400, 401, 429, 503),
        },
      },
    },
    '/unified/lms/course-enrollments/{id}': {
      get: {
        operationId: 'getCourseEnrollment',
        summary: 'One CourseEnrollments object',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: ENROLLMENT_ID_PATTERN } }],
        responses: {
          200: { description: 'The enrollment as last published', content: { 'application/json': { schema: ref('CourseEnrollments') } } },
          ...errors(400, 401, 404, 429, 503),
        },
      },
    },
    '/api/v2/course/{course_id}/': {
      get: {
        operationId: 'getCourse',
        summary: 'Course User Detail, or Course Dashboard with view=dashboard',
        parameters: [
          intParam('course_id', 'the course', 'path'),
          intParam('user', 'the user whose fields to fill'),
          { name: 'view', in: 'query', schema: { type: 'string', enum: ['dashboard'] } },
        ],
        responses: {
          200: {
            description: 'Course User Detail (no view) or Course Dashboard (view=dashboard)',
            // anyOf, not oneOf: the two shapes share most fields; `view` chooses which one is sent.
            content: { 'application/json': { schema: { anyOf: [ref('CourseUserDetail'), ref('CourseDashboard')] } } },
          },
          ...errors(400, 401, 404, 429, 503),
        },
      },
    },
    '/api/v2/course/{course_id}/users/': {
      get: {
        operationId: 'listCourseUsers',
        summary: 'Course User Dashboard: the course members',
        parameters: [
          intParam('course_id', 'the course', 'path'),
          {
            name: 'statuses',
            in: 'query',
            description: 'join statuses, comma-separated or repeated (default manager,joined)',
            schema: { type: 'string' },
          },
          {
            name: 'search',
            in: 'query',
            description: 'case-insensitive substring of username or real_name, both sides compared in Unicode NFC (composed and decomposed accents match)',
            schema: { type: 'string' },
          },
          { name: 'ordering', in: 'query', schema: { type: 'string', enum: ['joined_at', '-joined_at', 'last_active_at', '-last_active_at'], default: '-joined_at' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
        ],
        responses: {
          200: { description: 'A page of members', content: { 'application/json': { schema: ref('CourseUserDashboard') } } },
          ...errors(400, 401, 404, 429, 503),
        },
      },
    },
    '/health/live': { get: { operationId: 'getLiveness', summary: 'Liveness', security: [], responses: { 200: { description: 'alive' } } } },
    '/health/ready': {
      get: {
        operationId: 'getReadiness',
        summary: 'Readiness: Postgres answers (the workers, Kafka and Redis are reported in the body, not required)',
        security: [],
        responses: { 200: { description: 'ready' }, 503: { description: 'Postgres does not answer' } },
      },
    },
    '/metrics': { get: { operationId: 'getMetrics', summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'text exposition format' } } } },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['statusCode', 'error', 'message'],
        properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
      },
      ...CONTRACT_SCHEMAS,
      CourseUserDetail: {
        type: 'object',
        properties: {
          ...courseFields,
          sections_order: { type: 'array', items: { type: 'integer' } },
          sections: {
            type: 'array',
            items: {
              type: 'object',
              properties: { id: { type: 'integer' }, name: { type: 'string' }, num_lessons: { type: 'integer' }, num_lessons_completed: { type: 'integer' } },
            },
          },
          join_status: joinStatus,
          num_lessons: { type: 'integer' },
          num_sections: { type: 'integer' },
          num_lessons_completed: { type: 'integer' },
          user_completion_rate: { type: 'integer' },
        },
      },
      CourseDashboard: {
        type: 'object',
        properties: {
          ...dashboardCourseFields,
          join_status: joinStatus,
          user_completion_rate: { type: 'integer' },
          avg_completion_rate: { type: 'integer' },
        },
      },
      CourseUserDashboard: {
        type: 'object',
        properties: {
          count: { type: 'integer' },
          next: nullable('string'),
          previous: nullable('string'),
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'integer' },
                username: nullable('string'),
                real_name: nullable('string'),
                avatar: nullable('string'),
                join_status: joinStatus,
                user_completion_rate: { type: 'integer' },
                last_active_at: dateTime,
                joined_at: dateTime,
              },
            },
          },
        },
      },
    },
  },
};

/**
 * The document as served: `servers` is the read API's public base URL (PUBLIC_URL) when set,
 * else `/`, which clients resolve against the address they fetched the document from.
 */
export function openApiDocument(publicUrl: string): typeof OPENAPI & { servers: { url: string; description: string }[] } {
  const servers = [
    publicUrl === '' ? { url: '/', description: 'This server (PUBLIC_URL is not set)' } : { url: publicUrl.replace(/\/+$/, ''), description: 'PUBLIC_URL' },
  ];
  const { openapi, info, ...rest } = OPENAPI;
  return { openapi, info, servers, ...rest };
}
