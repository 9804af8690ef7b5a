/**
 * What a deleted enrollment publishes (events.md: "`course_enrollment` is the last state
 * published before the deletion, with only `updated_at` new and, for an erased user, none of that
 * user's personal data").
 *
 * Unlike everything else the service publishes, this state is not a function of the facts alone:
 * it depends on what was published before, so the projector passes the last published state in.
 * Erasure still applies to it: the enrollment's own user when their latest fact is a deletion,
 * and any erased actor's name in `assigned_by` (decision 11 in enrollment.ts). An enrollment
 * already published as deleted is published again, as deleted, when an erasure reaches something
 * its last state still shows, so the last published state never keeps an erased name.
 */
import type { CourseEnrollment } from './course-enrollment';
import type { CourseEnrollmentWithoutUpdatedAt, DerivedEnrollment } from './enrollment';
import type { CourseEnrollmentField } from './course-enrollment';
import { COURSE_ENROLLMENT_FIELDS, materialDiff } from './material-diff';
import { toMillisIso } from './time';

/** The erasures that apply to one enrollment, as `deriveEnrollment` found them. */
export type Erasure = Pick<DerivedEnrollment, 'userDeleted' | 'erasedActorIds'>;

/** `state` without the personal data of erased people. Never mutates its input. */
export function erasePersonalData<T extends CourseEnrollmentWithoutUpdatedAt>(state: T, erasure: Erasure): T {
  const out = { ...state };
  if (erasure.userDeleted) out.user = { id: state.user.id, name: null, emails: [] };
  const by = state.assigned_by;
  if (by && by.name !== null && erasure.erasedActorIds.includes(Number(by.id))) out.assigned_by = { id: by.id, name: null };
  return out;
}

/**
 * The state a `deleted` event carries: `lastPublished` with the erasures applied and `updated_at`
 * = now. `changedFields` are the fields that differ from `lastPublished` (often none: a course
 * deletion changes no field).
 */
export function deletedEnrollmentState(
  lastPublished: CourseEnrollment,
  erasure: Erasure,
  now: string,
): { enrollment: CourseEnrollment; changedFields: CourseEnrollmentField[] } {
  const { updated_at: _previous, ...before } = lastPublished;
  const after = erasePersonalData(before, erasure);
  const enrollment = {} as Record<string, unknown>;
  for (const f of COURSE_ENROLLMENT_FIELDS) enrollment[f] = f === 'updated_at' ? toMillisIso(now) : after[f];
  return { enrollment: enrollment as unknown as CourseEnrollment, changedFields: materialDiff(before, after) };
}
