import { buildOutputEvent, CourseEnrollmentsEvent, EXAMPLE_COURSE_ENROLLMENT, OutputEventType } from '@app/contracts';
import type { DerivedEnrollment } from '@app/domain';
import { partitionProblems, projectionProblems, ProjectionRow, PublishedLog, publishedProblems, versionProblems } from './verification';

const ID = EXAMPLE_COURSE_ENROLLMENT.id;
const { updated_at: _u, ...derivedState } = EXAMPLE_COURSE_ENROLLMENT;

function event(version: number, type: OutputEventType, overrides: Partial<typeof EXAMPLE_COURSE_ENROLLMENT> = {}, id = `e${version}`): CourseEnrollmentsEvent {
  return buildOutputEvent({
    id,
    time: '2026-11-20T10:15:31.004Z',
    type,
    version,
    changedFields: [],
    cause: { job: 'test' },
    courseEnrollment: { ...EXAMPLE_COURSE_ENROLLMENT, ...overrides },
  });
}

function given(...events: CourseEnrollmentsEvent[]): PublishedLog {
  const log = new PublishedLog();
  for (const e of events) log.add(e.data.course_enrollment.id, e);
  return log;
}

const fold = (deleted = false, state: object = derivedState, erasure = { userDeleted: false, erasedActorIds: [] as number[] }) =>
  new Map([[ID, { exists: true, deleted, enrollment: state, ...erasure } as unknown as DerivedEnrollment]]);
const rowOf = (version: number, deleted = false, state: object = EXAMPLE_COURSE_ENROLLMENT): Map<string, ProjectionRow> =>
  new Map([[ID, { id: ID, version, deleted, state: state as Record<string, unknown> }]]);

describe('versionProblems', () => {
  it('accepts created, updates, deleted, deleted again (an erasure), created again, and an identical re-send', () => {
    const log = given(event(1, 'created'), event(2, 'updated'), event(2, 'updated'), event(3, 'deleted'), event(4, 'deleted'), event(5, 'created'));
    expect(versionProblems(log.versions)).toEqual([]);
    expect(log.resent()).toBe(1);
  });

  it.each([
    ['a gap', [event(1, 'created'), event(3, 'updated')], /gap: v3 after v1/],
    ['an older version after a newer one, with other content', [event(1, 'created'), event(2, 'updated'), event(1, 'created', {}, 'other')], /v1 seen twice/],
    ['updated as the first event', [event(1, 'updated')], /v1 is lms.course_enrollment.updated after nothing/],
    ['created twice without a delete', [event(1, 'created'), event(2, 'created')], /v2 is lms.course_enrollment.created after lms.course_enrollment.created/],
    [
      'updated right after a delete',
      [event(1, 'created'), event(2, 'deleted'), event(3, 'updated')],
      /v3 is lms.course_enrollment.updated after lms.course_enrollment.deleted/,
    ],
    ['a re-send whose data changed', [event(1, 'created'), event(1, 'created', { status: 'withdrawn' })], /v1 seen twice with different content/],
  ])('reports %s', (_what, events, problem) => {
    expect(versionProblems(given(...events).versions)).toEqual([expect.stringMatching(problem)]);
  });

  it('reports an event keyed by another enrollment', () => {
    const log = new PublishedLog();
    log.add('other-key', event(1, 'created'));
    expect(versionProblems(log.versions)).toEqual([expect.stringMatching(/other-key: v1 carries enrollment/)]);
  });
});

describe('projectionProblems', () => {
  it('accepts rows equal to the fold, updated_at aside', () => {
    expect(projectionProblems(fold(), rowOf(3))).toEqual([]);
  });

  it("accepts a deleted row holding its last published state, not the fold's", () => {
    expect(projectionProblems(fold(true, { ...derivedState, status: 'withdrawn' }), rowOf(3, true))).toEqual([]);
  });

  it.each([
    ['a missing row', fold(), new Map<string, ProjectionRow>(), /no enrollments row/],
    ['a row the fold does not have', new Map(), rowOf(1), /row the fold does not have/],
    ['a different field', fold(), rowOf(1, false, { ...EXAMPLE_COURSE_ENROLLMENT, status: 'withdrawn' }), /state differs from the fold: status: got "withdrawn"/],
    ['a live row the fold deleted', fold(true), rowOf(1), /is not marked deleted, the fold says deleted/],
    [
      "a deleted row keeping an erased user's name",
      fold(true, derivedState, { userDeleted: true, erasedActorIds: [] }),
      rowOf(2, true),
      /deleted row keeps erased personal data: user/,
    ],
  ])('reports %s', (_what, expected, rows, problem) => {
    expect(projectionProblems(expected, rows)).toEqual([expect.stringMatching(problem)]);
  });
});

describe('publishedProblems', () => {
  it('accepts a last event equal to its row, and no event for a row never published', () => {
    expect(publishedProblems(rowOf(2), given(event(1, 'created'), event(2, 'updated')).last)).toEqual([]);
    expect(publishedProblems(rowOf(0, true), new Map())).toEqual([]);
  });

  it('takes the highest version as the last event even when a re-send arrives after it', () => {
    expect(publishedProblems(rowOf(2), given(event(1, 'created'), event(2, 'updated'), event(1, 'created')).last)).toEqual([]);
  });

  it.each([
    ['a version behind the row', rowOf(3), given(event(1, 'created'), event(2, 'updated')), /last published v2, row at version 3/],
    ['a row never published', rowOf(1), given(), /never published/],
    ['an event for a row never published', rowOf(0, true), given(event(1, 'created')), /never published \(version 0\) but v1/],
    ['a live last event for a deleted row', rowOf(1, true), given(event(1, 'created')), /row is deleted/],
    ['a different updated_at', rowOf(1), given(event(1, 'created', { updated_at: '2026-01-01T00:00:00.000Z' })), /differs from the row: updated_at/],
    ['an event without a row', new Map<string, ProjectionRow>(), given(event(1, 'created')), /published but there is no enrollments row/],
  ])('reports %s', (_what, rows, log, problem) => {
    expect(publishedProblems(rows, log.last)).toEqual([expect.stringMatching(problem)]);
  });
});

describe('partitionProblems', () => {
  const keys = (entries: [string, number[]][]) => new Map(entries.map(([k, ps]) => [k, new Set(ps)]));

  it('accepts every key on one partition', () => {
    expect(
      partitionProblems(
        keys([
          ['1:1', [0]],
          ['1:2', [3]],
        ]),
      ),
    ).toEqual([]);
  });

  it('reports a key whose events are on two partitions', () => {
    expect(
      partitionProblems(
        keys([
          ['1:1', [4, 0]],
          ['1:2', [3]],
        ]),
      ),
    ).toEqual(['1:1: events on partitions 0, 4']);
  });

  it('reports a key on another partition than the partitioner assigns, when asked', () => {
    const expected = (key: string) => (key === '1:1' ? 0 : 2);
    expect(
      partitionProblems(
        keys([
          ['1:1', [0]],
          ['1:2', [3]],
        ]),
        expected,
      ),
    ).toEqual(['1:2: on partition 3, the partitioner assigns 2']);
  });
});
