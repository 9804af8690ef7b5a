/**
 * Hostile input for the poison-isolation tests: messages that pass (or may pass) the contract
 * but that Postgres or the runtime refuses when they are applied, and the checks that such a
 * message was isolated (dead-lettered once, its neighbours applied, lag back to 0).
 */
import { randomBytes } from 'node:crypto';
import { eventually } from './eventually';
import { Pipeline, RawInput } from './pipeline';

/** A structured CloudEvent as text. */
export const cloudEvent = (type: string, data: object, meta: { id: string; time: string; source?: string }): string =>
  JSON.stringify({ specversion: '1.0', id: meta.id, source: meta.source ?? '/hostile', type, time: meta.time, datacontenttype: 'application/json', data });

export const DEEP_NESTING = 6000;

export interface HostileCase {
  name: string;
  /** The message, with `tag` somewhere in its value (its CloudEvent id where it has one) so its dead letter can be found. */
  build: (tag: string, courseId: number, time: string) => RawInput;
}

/**
 * Messages the contract of today accepts and the store refuses (Postgres rejects NUL in text
 * and jsonb and lone surrogates in jsonb, a btree row over 2704 bytes; JSON.stringify overflows
 * its stack on deep nesting). A tighter contract may refuse them at decode instead.
 */
export const STORE_REFUSED: readonly HostileCase[] = [
  {
    name: 'NUL in id',
    build: (tag, c, time) => ({
      topic: 'memberships',
      key: `${c}:1`,
      value: cloudEvent('lms.membership.changed', { course_id: c, user_id: 900, join_status: 'joined' }, { id: `${tag}\u0000`, time }),
    }),
  },
  {
    name: 'NUL in a course name',
    build: (tag, c, time) => ({
      topic: 'courses',
      key: String(c),
      value: cloudEvent('lms.course.upserted', { course: { id: c, name: 'Bad\u0000Name', type: 'self-paced' } }, { id: tag, time }),
    }),
  },
  {
    name: 'NUL in a custom_fields key',
    build: (tag, c, time) => ({
      topic: 'memberships',
      key: `${c}:1`,
      value: cloudEvent('lms.membership.changed', { course_id: c, user_id: 901, join_status: 'joined', custom_fields: { 'cost\u0000center': 'x' } }, { id: tag, time }),
    }),
  },
  {
    name: 'lone surrogate in real_name',
    build: (tag, c, time) => ({
      topic: 'users',
      key: String(c),
      value: cloudEvent('lms.user.upserted', { user: { id: c, username: `user${c}`, real_name: 'Half \ud800 a pair' } }, { id: tag, time }),
    }),
  },
  {
    name: `custom_fields nested ${DEEP_NESTING} deep`,
    build: (tag, c, time) => ({
      topic: 'memberships',
      key: `${c}:1`,
      value: cloudEvent('lms.membership.changed', { course_id: c, user_id: 902, join_status: 'joined', custom_fields: '@DEEP@' }, { id: tag, time }).replace(
        '"@DEEP@"',
        `${'{"a":'.repeat(DEEP_NESTING)}1${'}'.repeat(DEEP_NESTING)}`,
      ),
    }),
  },
  {
    name: 'source of 8,000 characters',
    build: (tag, c, time) => ({
      topic: 'memberships',
      key: `${c}:1`,
      // Random characters: a repetitive source would compress below the index's row limit.
      value: cloudEvent(
        'lms.membership.changed',
        { course_id: c, user_id: 903, join_status: 'joined' },
        { id: tag, time, source: `/${randomBytes(6000).toString('base64url').slice(0, 7999)}` },
      ),
    }),
  },
];

/** The letters (of `letters`) whose value carries `tag`. */
export const lettersTagged = (letters: Pipeline['deadLetters'], tag: string) => letters.filter((l) => l.value?.toString('utf8').includes(tag));

/** Valid messages whose (source, id) is not in the inbox, i.e. not applied; [] = all applied. */
export async function notInInbox(p: Pipeline, messages: readonly RawInput[]): Promise<string[]> {
  const facts = p.producedFacts(messages);
  const rows: { source: string; id: string }[] = await p.ds.query(
    `SELECT source, id FROM processed_events WHERE (source, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [facts.map((f) => f.meta.source), facts.map((f) => f.meta.id)],
  );
  const seen = new Set(rows.map((r) => `${r.source}\u0000${r.id}`));
  return facts.filter((f) => !seen.has(`${f.meta.source}\u0000${f.meta.id}`)).map((f) => `${f.meta.source} ${f.meta.id}`);
}

/** The worker's own `enrollment_sync_consumer_lag` samples, by `topic/partition`. */
export async function lagGauge(p: Pipeline): Promise<Map<string, number>> {
  const { body } = await p.workerGet('/metrics');
  const out = new Map<string, number>();
  for (const m of body.matchAll(/^enrollment_sync_consumer_lag\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.set(`${labels.topic}/${labels.partition}`, Number(m[2]));
  }
  return out;
}

/** The group has committed everything, and the worker's lag gauge reads 0 on every partition it owns. */
export async function lagProblems(p: Pipeline): Promise<string[]> {
  const committed = (await p.inputLag()).detail.map((d) => `not committed: ${d}`);
  if (committed.length > 0) return committed;
  const gauge = await eventually(
    async () => {
      const g = await lagGauge(p);
      return g.size > 0 && [...g.values()].every((v) => v === 0) ? g : undefined;
    },
    'the consumer lag gauge to read 0 on every owned partition',
    20_000,
  ).catch((err: Error) => err);
  return gauge instanceof Error ? [gauge.message] : [];
}
