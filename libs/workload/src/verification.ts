/**
 * The checks that a pipeline run lost nothing, shared by the end-to-end tests and the fault
 * drill: the projection against a from-scratch fold of the input log, the last published event
 * per key against the projection, and per-key version sequences. Pure: the callers read the
 * rows and topics; each check returns one line per problem ([] = all good).
 */
import { createHash } from 'node:crypto';
import { CourseEnrollmentsEvent } from '@app/contracts';
import { DerivedEnrollment, erasePersonalData, jsonEqual } from '@app/domain';
import type { CourseEnrollmentWithoutUpdatedAt } from '@app/domain';

/** An `enrollments` row as the checks need it. */
export interface ProjectionRow {
  id: string;
  version: number;
  deleted: boolean;
  state: Record<string, unknown>;
}

/** One published event, reduced to what the version check compares. */
export interface PublishedVersion {
  version: number;
  type: CourseEnrollmentsEvent['type'];
  eventId: string;
  enrollmentId: string;
  /** Digest of the event's canonical `data`: a re-send must be byte-for-byte the same event. */
  digest: string;
}

/** JSON with object keys sorted, so equal values print (and hash) the same. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

export function publishedVersion(event: CourseEnrollmentsEvent): PublishedVersion {
  return {
    version: event.data.version,
    type: event.type,
    eventId: event.id,
    enrollmentId: event.data.course_enrollment.id,
    digest: createHash('sha1').update(canonicalJson(event.data)).digest('hex'),
  };
}

function withoutUpdatedAt(o: object): Record<string, unknown> {
  const { updated_at: _u, ...rest } = o as Record<string, unknown>;
  return rest;
}

/** The fields where two objects differ, for a readable problem line. */
function diffFields(actual: Record<string, unknown>, expected: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  const out: string[] = [];
  for (const k of keys) {
    if (!jsonEqual(actual[k], expected[k])) out.push(`${k}: got ${canonicalJson(actual[k])}, want ${canonicalJson(expected[k])}`);
  }
  return out.join('; ');
}

/**
 * The projection equals the fold: every enrollment the fold knows has a row with the same
 * deleted flag and, when live, the same state (`updated_at` aside: it is the time of the change,
 * not a derived value); there is no row the fold does not know. A deleted row holds the last
 * state published before the deletion, which depends on what arrived when, not on the facts
 * alone: it is checked to hold nothing the fold says is erased.
 */
export function projectionProblems(expected: ReadonlyMap<string, DerivedEnrollment>, rows: ReadonlyMap<string, ProjectionRow>): string[] {
  const problems: string[] = [];
  for (const [id, d] of expected) {
    if (!d.exists) continue;
    const row = rows.get(id);
    if (!row) {
      problems.push(`${id}: no enrollments row (the fold has status ${d.enrollment.status}${d.deleted ? ', deleted' : ''})`);
      continue;
    }
    if (row.deleted !== d.deleted) problems.push(`${id}: row ${row.deleted ? 'is' : 'is not'} marked deleted, the fold says ${d.deleted ? 'deleted' : 'live'}`);
    const got = withoutUpdatedAt(row.state);
    if (row.deleted) {
      const erased = erasePersonalData(got as unknown as CourseEnrollmentWithoutUpdatedAt, d) as unknown as Record<string, unknown>;
      if (!jsonEqual(got, erased)) problems.push(`${id}: deleted row keeps erased personal data: ${diffFields(got, erased)}`);
      continue;
    }
    const want = d.enrollment as unknown as Record<string, unknown>;
    if (!jsonEqual(got, want)) problems.push(`${id}: enrollments.state differs from the fold: ${diffFields(got, want)}`);
  }
  for (const id of rows.keys()) if (!expected.get(id)?.exists) problems.push(`${id}: enrollments row the fold does not have`);
  return problems;
}

/**
 * The last published event per key equals the projection: same version, `deleted` exactly when
 * the row is deleted, the same course_enrollment (updated_at included). A row never published
 * (version 0: deleted before its first event) has no event.
 */
export function publishedProblems(rows: ReadonlyMap<string, ProjectionRow>, last: ReadonlyMap<string, CourseEnrollmentsEvent>): string[] {
  const problems: string[] = [];
  for (const [id, row] of rows) {
    const ev = last.get(id);
    if (row.version === 0) {
      if (ev) problems.push(`${id}: row never published (version 0) but v${ev.data.version} ${ev.type} was`);
      continue;
    }
    if (!ev) {
      problems.push(`${id}: row at version ${row.version} was never published`);
      continue;
    }
    if (ev.data.version !== row.version) problems.push(`${id}: last published v${ev.data.version}, row at version ${row.version}`);
    if ((ev.type === 'lms.course_enrollment.deleted') !== row.deleted) problems.push(`${id}: last event is ${ev.type}, row ${row.deleted ? 'is' : 'is not'} deleted`);
    const got = ev.data.course_enrollment as unknown as Record<string, unknown>;
    if (!jsonEqual(got, row.state)) problems.push(`${id}: last event v${ev.data.version} differs from the row: ${diffFields(got, row.state)}`);
  }
  for (const id of last.keys()) if (!rows.has(id)) problems.push(`${id}: published but there is no enrollments row`);
  return problems;
}

/**
 * Per key, in arrival order: versions 1..n with no gap and never an older version after a
 * newer one; a version seen again must be the very same event (a re-send after a crash);
 * `created` as v1 and right after a `deleted`, nothing else there but another `deleted` (an
 * erasure reaching an enrollment already deleted); the key is the enrollment id.
 */
export function versionProblems(byKey: ReadonlyMap<string, readonly PublishedVersion[]>): string[] {
  const problems: string[] = [];
  for (const [key, list] of byKey) {
    const byVersion = new Map<number, PublishedVersion>();
    let max = 0;
    for (const p of list) {
      if (p.enrollmentId !== key) problems.push(`${key}: v${p.version} carries enrollment ${p.enrollmentId}`);
      if (p.version === max + 1) {
        const prev = byVersion.get(max);
        const created = p.type === 'lms.course_enrollment.created';
        const afterDelete = prev === undefined || prev.type === 'lms.course_enrollment.deleted';
        const deletedAgain = prev !== undefined && prev.type === 'lms.course_enrollment.deleted' && p.type === prev.type;
        if (created !== afterDelete && !deletedAgain) problems.push(`${key}: v${p.version} is ${p.type} after ${prev?.type ?? 'nothing'}`);
        byVersion.set(p.version, p);
        max = p.version;
      } else if (p.version <= max) {
        const first = byVersion.get(p.version)!;
        if (first.eventId !== p.eventId || first.digest !== p.digest) problems.push(`${key}: v${p.version} seen twice with different content`);
      } else {
        problems.push(`${key}: gap: v${p.version} after v${max}`);
      }
    }
  }
  return problems;
}

/** Output events folded as they are read: every key's version sequence and its last event. */
export class PublishedLog {
  readonly versions = new Map<string, PublishedVersion[]>();
  readonly last = new Map<string, CourseEnrollmentsEvent>();
  count = 0;

  add(key: string, event: CourseEnrollmentsEvent): void {
    const list = this.versions.get(key) ?? [];
    list.push(publishedVersion(event));
    this.versions.set(key, list);
    const prev = this.last.get(key);
    if (!prev || prev.data.version <= event.data.version) this.last.set(key, event);
    this.count++;
  }

  /** Re-sent events (same version again): at-least-once allows some after a crash. */
  resent(): number {
    let n = 0;
    for (const list of this.versions.values()) n += list.length - new Set(list.map((p) => p.version)).size;
    return n;
  }
}

/**
 * Per-key order on the output topic holds only while a key's events share one partition: every
 * key must sit on exactly one, and, when `expected` is given, on the partition the producers'
 * partitioner assigns it (so consumers that look a key up by partition find it).
 */
export function partitionProblems(partitionsByKey: ReadonlyMap<string, ReadonlySet<number>>, expected?: (key: string) => number): string[] {
  const problems: string[] = [];
  for (const [key, partitions] of partitionsByKey) {
    const seen = [...partitions].sort((a, b) => a - b);
    if (seen.length > 1) problems.push(`${key}: events on partitions ${seen.join(', ')}`);
    else if (expected && seen.length === 1 && seen[0] !== expected(key)) problems.push(`${key}: on partition ${seen[0]}, the partitioner assigns ${expected(key)}`);
  }
  return problems;
}
