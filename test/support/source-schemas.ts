/**
 * JSON Schemas transcribed by hand from the five source documents the contract came from
 * (`../shared/seeds/`): 000 Course User Detail, 001 Course Dashboard, 002 Course User Dashboard,
 * 003/004 the unified LMS CourseEnrollments object. Types, enums, formats and required-ness are
 * the documents'; a field is nullable only where a document says so (`join_status` lists null,
 * `avatar` is "string(binary)¦null"); no other field may be added (`additionalProperties: false`).
 *
 * The service publishes `null` in a few more places, each explained by the contract:
 * `ALLOWED_NULLS` lists them once, with the reason. Everything else that breaks a source schema is
 * a problem. Objects the documents leave unspecified (User Minimal, Category, Course User Section
 * Detail, `custom_fields`, `remote_data`) are checked as objects only.
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export type SourceDocument = 'CourseUserDetail' | 'CourseDashboard' | 'CourseUserDashboardEntry' | 'CourseEnrollments';

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const dateTime = { type: 'string', format: 'date-time' };
const object = { type: 'object' };
const closed = (properties: Record<string, object>, required: string[] = []) => ({ type: 'object', properties, required, additionalProperties: false });

const COURSE_TYPE = { type: 'string', enum: ['self-paced', 'structured', 'scheduled'] };
const PRIVACY = { type: 'string', enum: ['', 'open', 'private', 'secret'] };
const JOIN_STATUS = { type: ['string', 'null'], enum: [null, 'creator', 'manager', 'joined', 'invited', 'requested'] };

/** 000: Course User Detail. `name` and `type` are required. */
const courseUserDetail = closed(
  {
    id: int,
    name: str,
    slug: str,
    description: str,
    type: COURSE_TYPE,
    privacy: PRIVACY,
    enforce_lessons_order: bool,
    new_comment_notification_enabled: bool,
    hide_member_count: bool,
    meta_title: str,
    meta_description: str,
    og_title: str,
    og_description: str,
    og_image: str,
    sections_order: { type: 'array', items: int },
    image_bigger: str,
    image_big: str,
    image_medium: str,
    image_small: str,
    deleted: bool,
    join_status: JOIN_STATUS,
    created_at: dateTime,
    created_by: object,
    categories: { type: 'array', items: object },
    sections: { type: 'array', items: object },
    num_lessons: int,
    num_sections: int,
    num_lessons_completed: int,
    user_completion_rate: int,
  },
  ['name', 'type'],
);

/** 001: Course Dashboard (the JSON example's fields; none required). */
const courseDashboard = closed({
  id: int,
  name: str,
  slug: str,
  type: COURSE_TYPE,
  privacy: PRIVACY,
  hide_member_count: bool,
  meta_title: str,
  meta_description: str,
  og_title: str,
  og_description: str,
  og_image: str,
  image_bigger: str,
  image_big: str,
  image_medium: str,
  image_small: str,
  deleted: bool,
  join_status: JOIN_STATUS,
  user_completion_rate: int,
  created_at: dateTime,
  created_by: object,
  categories: { type: 'array', items: object },
  avg_completion_rate: int,
});

/** 002: Course User Dashboard (one entry of the list). */
const courseUserDashboardEntry = closed({
  id: int,
  username: { type: 'string', maxLength: 255, pattern: '^[\\p{L}\\p{M}\\p{Nd}_-]+$' },
  real_name: { type: 'string', maxLength: 255 },
  avatar: { type: ['string', 'null'] },
  join_status: JOIN_STATUS,
  user_completion_rate: int,
  last_active_at: dateTime,
  joined_at: dateTime,
});

/** 003/004: CourseEnrollments. Only `id` is required. */
const courseEnrollments = closed(
  {
    id: str,
    user: closed({ id: str, name: str, emails: { type: 'array', items: closed({ email: str, type: str, is_primary: bool }) } }),
    course: closed({ id: str, title: str }),
    status: { type: 'string', enum: ['assigned', 'enrolled', 'in_progress', 'completed', 'passed', 'failed', 'withdrawn', 'expired', 'overdue', 'unknown'] },
    assigned_at: dateTime,
    due_at: dateTime,
    enrolled_at: dateTime,
    started_at: dateTime,
    last_activity_at: dateTime,
    completed_at: dateTime,
    progress_percent: { type: 'number', minimum: 0, maximum: 100 },
    time_spent_seconds: int,
    score: { type: 'number' },
    is_mandatory: bool,
    assigned_by: closed({ id: str, name: str }),
    attempt_number: int,
    attempts_count: int,
    urls: { type: 'array', items: closed({ url: str, type: str }) },
    created_at: dateTime,
    updated_at: dateTime,
    custom_fields: object,
    remote_data: object,
  },
  ['id'],
);

/**
 * Where the service publishes null although the source document's type has no null, each
 * explained by the contract. Keys are JSON pointers (array indices as `*`).
 */
export const ALLOWED_NULLS: Record<SourceDocument, Record<string, string>> = {
  CourseEnrollments: {
    '/user/name': 'rules.md: real_name, else username, else null (a user never seen, or erased)',
    '/course/title': 'rules.md: course name or null (a course never seen)',
    '/assigned_at': 'rules.md: RFC 3339 or null (no invited fact in the period)',
    '/due_at': 'rules.md: RFC 3339 or null (no assignment)',
    '/enrolled_at': 'rules.md: RFC 3339 or null (not joined in the period)',
    '/started_at': 'rules.md: null when there is no completion',
    '/last_activity_at': 'rules.md: null when there is no completion',
    '/completed_at': 'rules.md: null unless complete',
    '/time_spent_seconds': 'rules.md: null when no completion carries it',
    '/score': 'rules.md: null when there is no grade',
    '/attempt_number': 'rules.md: null when there is no grade',
    '/attempts_count': 'rules.md: null when there is no grade',
    '/assigned_by': "rules.md: the invited fact's actor, else null",
    '/assigned_by/name': 'rules.md "Deletion and erasure": an erased actor\'s name is null for good (or the actor was sent without one)',
  },
  CourseUserDetail: {
    '/created_at': 'events.md: an absent created_at defaults to null',
    '/created_by': 'events.md: an absent created_by defaults to null; an erased creator is null (contract-notes #8)',
  },
  CourseDashboard: {
    '/created_at': 'events.md: an absent created_at defaults to null',
    '/created_by': 'events.md: an absent created_by defaults to null; an erased creator is null (contract-notes #8)',
  },
  CourseUserDashboardEntry: {
    '/username': 'rules.md: a user never seen has no profile (contract-notes #11)',
    '/real_name': 'rules.md: a user never seen has no profile (contract-notes #11)',
    '/last_active_at': 'api.md: last_activity_at, null when there is no completion',
    '/joined_at': 'api.md: enrolled_at, null when not joined in the period',
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time']);
const validators: Record<SourceDocument, ValidateFunction> = {
  CourseUserDetail: ajv.compile(courseUserDetail),
  CourseDashboard: ajv.compile(courseDashboard),
  CourseUserDashboardEntry: ajv.compile(courseUserDashboardEntry),
  CourseEnrollments: ajv.compile(courseEnrollments),
};

const pointerAt = (value: unknown, pointer: string): unknown =>
  pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), value);

/** How `value` breaks the source document's schema, the allowed nulls aside ([] = it conforms). */
export function sourceSchemaProblems(doc: SourceDocument, value: unknown): string[] {
  const validate = validators[doc];
  if (validate(value)) return [];
  const allowed = ALLOWED_NULLS[doc];
  return (validate.errors ?? [])
    .filter((e: ErrorObject) => !(pointerAt(value, e.instancePath) === null && e.instancePath.replace(/\/\d+(?=\/|$)/g, '/*') in allowed))
    .map((e: ErrorObject) => `${doc}${e.instancePath || '/'} ${e.message}${e.keyword === 'additionalProperties' ? `: ${JSON.stringify(e.params)}` : ''}`);
}
