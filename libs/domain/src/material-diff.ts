import type { CourseEnrollment, CourseEnrollmentField } from './course-enrollment';
import type { CourseEnrollmentWithoutUpdatedAt } from './enrollment';
import { toMillisIso } from './time';

/** The top-level fields of CourseEnrollments in their documented order. */
export const COURSE_ENROLLMENT_FIELDS = [
  'id',
  'user',
  'course',
  'status',
  'assigned_at',
  'due_at',
  'enrolled_at',
  'started_at',
  'last_activity_at',
  'completed_at',
  'progress_percent',
  'time_spent_seconds',
  'score',
  'attempt_number',
  'attempts_count',
  'is_mandatory',
  'assigned_by',
  'urls',
  'created_at',
  'updated_at',
  'custom_fields',
  'remote_data',
] as const satisfies readonly CourseEnrollmentField[];

// Compile-time check that the list above names every field.
type Missing = Exclude<CourseEnrollmentField, (typeof COURSE_ENROLLMENT_FIELDS)[number]>;
const everyFieldListed: [Missing] extends [never] ? true : Missing = true;
void everyFieldListed;

/** The fields whose change is material: all but `updated_at`. */
export const MATERIAL_FIELDS: readonly Exclude<CourseEnrollmentField, 'updated_at'>[] = COURSE_ENROLLMENT_FIELDS.filter(
  (f): f is Exclude<CourseEnrollmentField, 'updated_at'> => f !== 'updated_at',
);

/**
 * Structural equality of JSON values: objects by their own keys whatever the key order (a key
 * holding `undefined` equals an absent key, as in JSON), arrays element by element.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

/**
 * The top-level fields that differ from `prev` (deep equality, `updated_at` excluded), in the
 * documented field order. On creation (`prev === null`): every field that is not null (again
 * without `updated_at`, so the list is the same whether or not `next` carries it). Empty = no
 * material change: publish nothing.
 */
export function materialDiff(prev: CourseEnrollmentWithoutUpdatedAt | null, next: CourseEnrollmentWithoutUpdatedAt): CourseEnrollmentField[] {
  if (prev === null) return MATERIAL_FIELDS.filter((f) => next[f] !== null && next[f] !== undefined);
  return MATERIAL_FIELDS.filter((f) => !jsonEqual(prev[f], next[f]));
}

/**
 * Completes a derived object with `updated_at` = the wall-clock time of the last material change:
 * `now` (ms) when `next` differs materially from `prev` or there is no `prev`, else
 * `prev.updated_at`. Returns the fields to put in `changed_fields` (empty = publish nothing).
 */
export function stampUpdatedAt(
  prev: CourseEnrollment | null,
  next: CourseEnrollmentWithoutUpdatedAt,
  now: string,
): { enrollment: CourseEnrollment; changedFields: CourseEnrollmentField[] } {
  const changedFields = materialDiff(prev, next);
  const updatedAt = prev !== null && changedFields.length === 0 ? prev.updated_at : toMillisIso(now);
  const enrollment = {} as Record<string, unknown>;
  for (const f of COURSE_ENROLLMENT_FIELDS) enrollment[f] = f === 'updated_at' ? updatedAt : next[f];
  return { enrollment: enrollment as unknown as CourseEnrollment, changedFields };
}
