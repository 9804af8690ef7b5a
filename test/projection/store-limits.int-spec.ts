import { decodeMessage } from '@app/contracts';
import type { InputMessage } from '@app/workload';
import { projectionFixture } from '../support/projection';

/**
 * The contract's store limits (issue 10) against a real Postgres, both ways: what the contract
 * now rejects is what Postgres refuses, and what it accepts at the very edge of every limit is
 * stored, projected and read back unchanged.
 */
describe('contract limits against a real Postgres', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  let n = 0;

  beforeAll(async () => {
    f = await projectionFixture();
  });
  afterAll(async () => f.close());

  const message = (topic: InputMessage['topic'], type: string, data: unknown, attrs: Record<string, unknown> = {}): InputMessage => ({
    topic,
    key: '42',
    value: JSON.stringify({ specversion: '1.0', id: `limit-${++n}`, source: '/community', type, time: '2026-11-20T10:15:30.123456Z', data, ...attrs }),
  });
  const rejection = (m: InputMessage): string => {
    const r = decodeMessage({ topic: f.config.topics[m.topic], key: null, value: Buffer.from(m.value), headers: {} }, f.config.topics);
    return r.ok ? 'accepted' : r.reason;
  };
  const refusal = async (sql: string, ...params: unknown[]): Promise<string> => {
    try {
      await f.ds.query(sql, params);
      return 'stored';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('Postgres refuses what the contract now rejects', async () => {
    expect(await refusal('SELECT $1::text', 'evt\u00009381')).toMatch(/invalid byte sequence for encoding "UTF8": 0x00/);
    expect(await refusal('SELECT $1::jsonb', JSON.stringify({ name: 'Kafka\u0000' }))).toMatch(/unsupported Unicode escape sequence/);
    expect(await refusal('SELECT $1::jsonb', JSON.stringify({ real_name: 'x\ud800y' }))).toMatch(/invalid input syntax for type json/);
    expect(await refusal('SELECT $1::timestamptz', '0000-06-01T00:00:00Z')).toMatch(/out of range/);
    expect(await refusal('SELECT $1::timestamptz', '2026-11-20T10:15:30+16:00')).toMatch(/out of range/);

    expect(rejection(message('courses', 'lms.course.deleted', { course_id: 42 }, { id: 'evt\u00009381' }))).toMatch(/^id must not contain a NUL/);
    expect(rejection(message('courses', 'lms.course.upserted', { course: { id: 42, name: 'Kafka\u0000', type: 'self-paced' } }))).toMatch(
      /^data\.course\.name must not contain a NUL/,
    );
    expect(rejection(message('users', 'lms.user.upserted', { user: { id: 7, username: 'grace', real_name: 'x\ud800y' } }))).toMatch(
      /^data\.user\.real_name must not contain a lone surrogate/,
    );
    expect(rejection(message('courses', 'lms.course.deleted', { course_id: 42 }, { time: '0000-06-01T00:00:00Z' }))).toMatch(/^time has year 0000/);
    expect(rejection(message('courses', 'lms.course.deleted', { course_id: 42 }, { time: '2026-11-20T10:15:30+16:00' }))).toMatch(
      /^time has a zone offset beyond ±14:00/,
    );
    expect(rejection(message('courses', 'lms.course.deleted', { course_id: 42 }, { source: '/' + 's'.repeat(7999) }))).toBe(
      'source must have at most 1024 characters, got 8000',
    );
  });

  it('stores, projects and reads back values at the edge of every limit', async () => {
    const astral = (k: number) => '𝒜'.repeat(k); // 4 bytes in UTF-8 each
    // The longest inbox key: a 1,024-character source and a 256-character id of 4-byte characters.
    const longest = { id: astral(256), source: '/' + 's'.repeat(1023) };
    const course = {
      id: 42,
      name: astral(1024),
      type: 'self-paced',
      slug: 's'.repeat(1024),
      description: 'é'.repeat(65536),
      og_image: 'https://cdn.example.com/' + 'p'.repeat(8192 - 24),
      created_at: '0001-01-01T14:00:00+14:00',
      categories: Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, name: `c${i}` })),
    };
    const deep = (levels: number): unknown => (levels === 0 ? 1 : { a: deep(levels - 1) });
    const customFields = {
      deep: deep(30), // data (1) > custom_fields (2) > 30 more levels = 32
      note: 'x'.repeat(8190),
      more: 'y'.repeat(8190),
    };
    const user = {
      id: 7,
      username: 'g'.repeat(255),
      real_name: astral(255),
      avatar: 'https://cdn.example.com/' + 'a'.repeat(8192 - 24),
      emails: Array.from({ length: 100 }, (_, i) => ({ email: `${i}`.padStart(308, 'g') + '@example.com', type: 't'.repeat(255) })),
    };
    const outcomes = await f.apply(
      message('courses', 'lms.course.upserted', { course }, longest),
      message('users', 'lms.user.upserted', { user }),
      message('memberships', 'lms.membership.changed', {
        course_id: 42,
        user_id: 7,
        join_status: 'joined',
        actor: { id: 3, name: astral(1024) },
        assignment: { due_at: '9999-12-31T09:59:59.999-14:00', access_expires_at: '0001-01-01T00:00:00Z' },
        custom_fields: customFields,
      }),
    );
    expect(outcomes).toEqual(['applied', 'applied', 'applied']);

    const [inbox] = await f.ds.query(`SELECT source, id FROM processed_events WHERE source = $1`, [longest.source]);
    expect(inbox).toEqual(longest);
    const [stored] = await f.ds.query(`SELECT course FROM course_facts WHERE course_id = 42`);
    expect(stored.course).toMatchObject({ ...course, created_at: '0001-01-01T00:00:00.000Z' });
    const [member] = await f.ds.query(`SELECT custom_fields, assignment FROM membership_facts WHERE course_id = 42 AND user_id = 7`);
    expect(member.custom_fields).toEqual(customFields);
    expect(member.assignment).toMatchObject({ due_at: '9999-12-31T23:59:59.999Z', access_expires_at: '0001-01-01T00:00:00.000Z' });

    const [created] = await f.published('42:7');
    expect(created.course_enrollment).toMatchObject({
      status: 'expired',
      due_at: '9999-12-31T23:59:59.999Z',
      course: { id: '42', title: course.name },
      user: { id: '7', name: user.real_name },
      custom_fields: customFields,
    });
  });
});
