/**
 * `npm run demo` (after the service is up, with the service's env): feeds a built-in sample to
 * the input topics and shows what the service publishes, one readable line per change event.
 *
 * The sample: a course with two sections and lessons; learners invited and joining, completing
 * lessons, a quiz graded, one leaving; then a lesson published later that lowers everyone's
 * progress. The course id is new on every run, so reruns never mix.
 *
 * It plays the sample in steps and, after each, waits until the last event received per
 * enrollment equals what the rules derive from everything sent so far (the reference fold of
 * @app/domain). It exits 0 once everything has arrived, 1 after 60 s otherwise.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { AppConfig, loadConfig } from '@app/config';
import { CourseEnrollmentsEvent, decodeMessage, decodeOutputEvent } from '@app/contracts';
import { DerivedEnrollment, Fact, foldFacts, jsonEqual } from '@app/domain';
import { createKafka } from '@app/messaging';
import { events, InputMessage } from '@app/workload';

const TIMEOUT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const config: AppConfig = loadConfig();
const courseId = Date.now() % 1_000_000 || 1;
const runTag = randomUUID().slice(0, 8);

// Fact times: a few minutes in the past, one second apart, so a rerun's facts are newer.
let t = Date.now() - 10 * 60_000;
let seq = 0;
const meta = () => ({ time: new Date((t += 1000)).toISOString(), id: `demo-${runTag}-${++seq}`, source: '/demo' });

const GRACE = 7;
const ALAN = 8;
const ADA = 9;
const LINUS = 10;
const admin = { id: 3, name: 'Ada Admin' };
const due = new Date(Date.now() + 30 * 86_400_000).toISOString();
const L = (n: number) => n; // lesson ids are per course

const steps: { title: string; messages: InputMessage[] }[] = [
  {
    title: `course ${courseId} "Kafka for Humans": 2 sections, 3 published lessons (one a quiz) and a draft; 4 learner profiles`,
    messages: [
      events.courseUpserted({ id: courseId, name: 'Kafka for Humans', slug: `kafka-for-humans-${courseId}`, privacy: 'open' }, meta()),
      events.sectionUpserted(courseId, { id: 1, name: 'Basics', position: 1 }, meta()),
      events.sectionUpserted(courseId, { id: 2, name: 'Going further', position: 2 }, meta()),
      events.lessonUpserted(courseId, { id: L(1), section_id: 1, name: 'Topics and partitions', status: 'published', position: 1 }, meta()),
      events.lessonUpserted(courseId, { id: L(2), section_id: 1, name: 'Consumer groups', status: 'published', position: 2 }, meta()),
      events.lessonUpserted(courseId, { id: L(3), section_id: 2, name: 'Final quiz', status: 'published', position: 3, type: 'quiz' }, meta()),
      events.lessonUpserted(courseId, { id: L(4), section_id: 2, name: 'Exactly once (draft)', status: 'draft', position: 4 }, meta()),
      ...[
        { id: GRACE, username: 'grace', real_name: 'Grace H.' },
        { id: ALAN, username: 'alan', real_name: 'Alan T.' },
        { id: ADA, username: 'ada', real_name: 'Ada L.' },
        { id: LINUS, username: 'linus', real_name: '' },
      ].map((u) => events.userUpserted({ ...u, emails: [{ email: `${u.username}@example.com`, type: 'work', is_primary: true }] }, meta())),
    ],
  },
  {
    title: 'Ada Admin invites Grace and Alan (mandatory, due in 30 days); Ada joins; Linus asks to join',
    messages: [
      events.membershipChanged({ course_id: courseId, user_id: GRACE, join_status: 'invited', actor: admin, assignment: { due_at: due, is_mandatory: true } }, meta()),
      events.membershipChanged({ course_id: courseId, user_id: ALAN, join_status: 'invited', actor: admin, assignment: { due_at: due, is_mandatory: true } }, meta()),
      events.membershipChanged({ course_id: courseId, user_id: ADA, join_status: 'joined', custom_fields: { cost_center: 'R&D' } }, meta()),
      events.membershipChanged({ course_id: courseId, user_id: LINUS, join_status: 'requested' }, meta()),
    ],
  },
  {
    title: 'Grace and Alan accept the invitation',
    messages: [
      events.membershipChanged({ course_id: courseId, user_id: GRACE, join_status: 'joined' }, meta()),
      events.membershipChanged({ course_id: courseId, user_id: ALAN, join_status: 'joined' }, meta()),
    ],
  },
  {
    title: 'lessons completed: Grace 2, Alan 1, Ada all 3',
    messages: [
      events.lessonCompleted({ course_id: courseId, lesson_id: L(1), user_id: GRACE, time_spent_seconds: 300 }, meta()),
      events.lessonCompleted({ course_id: courseId, lesson_id: L(1), user_id: ALAN, time_spent_seconds: 420 }, meta()),
      events.lessonCompleted({ course_id: courseId, lesson_id: L(1), user_id: ADA, time_spent_seconds: 200 }, meta()),
      events.lessonCompleted({ course_id: courseId, lesson_id: L(2), user_id: GRACE, time_spent_seconds: 600 }, meta()),
      events.lessonCompleted({ course_id: courseId, lesson_id: L(2), user_id: ADA, time_spent_seconds: 250 }, meta()),
      events.lessonCompleted({ course_id: courseId, lesson_id: L(3), user_id: ADA, time_spent_seconds: 90 }, meta()),
    ],
  },
  {
    title: "Grace's quiz is graded: 87.5, passed",
    messages: [events.courseGraded({ course_id: courseId, user_id: GRACE, attempt_number: 1, score: 87.5, passed: true }, meta())],
  },
  {
    title: 'Alan leaves the course',
    messages: [events.membershipChanged({ course_id: courseId, user_id: ALAN, join_status: null }, meta())],
  },
  {
    title: "a fourth lesson is published: everyone's progress drops, Ada is no longer complete",
    messages: [events.lessonUpserted(courseId, { id: L(5), section_id: 2, name: 'Operating Kafka', status: 'published', position: 5 }, meta())],
  },
];

// ---------------------------------------------------------------------------------------------

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function line(e: CourseEnrollmentsEvent): string {
  const ce = e.data.course_enrollment;
  const type = e.type.replace('lms.course_enrollment.', '');
  const cause = 'job' in e.data.cause ? `job:${e.data.cause.job}` : e.data.cause.type;
  const fields = type === 'created' ? 'all' : e.data.changed_fields.join(',');
  return (
    `${pad(`v${e.data.version}`, 4)}${pad(type, 8)} ${pad(ce.id, 12)} ${pad(ce.user.name ?? '(no name)', 10)} ` +
    `${pad(ce.status, 12)} ${pad(`${ce.progress_percent}%`, 7)} [${fields}] ← ${cause}`
  );
}

const withoutUpdatedAt = (o: object) => {
  const { updated_at: _u, ...rest } = o as Record<string, unknown>;
  return rest;
};

async function main(): Promise<number> {
  const kafka = createKafka(config, undefined, '-demo');
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `enrollment-sync-demo-${courseId}-${runTag}`, sessionTimeout: 10000, heartbeatInterval: 1000 });
  const last = new Map<string, CourseEnrollmentsEvent>();
  let received = 0;
  const prefix = `${courseId}:`;

  await producer.connect();
  await consumer.connect();
  // A fresh group from the beginning, filtered to this run's course (its id is new every run).
  await consumer.subscribe({ topic: config.topics.courseEnrollments, fromBeginning: true });
  let assigned!: () => void;
  const joined = new Promise<void>((r) => (assigned = r));
  consumer.on(consumer.events.GROUP_JOIN, () => assigned());
  await consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? '';
      if (!key.startsWith(prefix) || !message.value) return;
      let e: CourseEnrollmentsEvent;
      try {
        e = decodeOutputEvent(message.value);
      } catch (err) {
        console.log(`  !! ${key}: output event breaks the contract: ${(err as Error).message}`);
        return;
      }
      const prev = last.get(key);
      if (prev && prev.data.version >= e.data.version) return; // an at-least-once re-send
      last.set(key, e);
      received++;
      console.log(`  ${line(e)}`);
    },
  });
  await Promise.race([joined, sleep(15_000)]);

  const deadline = Date.now() + TIMEOUT_MS;
  const sent: InputMessage[] = [];
  const topicOf = (m: InputMessage) => config.topics[m.topic];

  console.log(`enrollment-sync demo: course ${courseId}, output ${config.topics.courseEnrollments}\n`);
  for (const [i, step] of steps.entries()) {
    console.log(`── ${i + 1}/${steps.length} ${step.title}`);
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const m of step.messages) byTopic.set(topicOf(m), [...(byTopic.get(topicOf(m)) ?? []), { key: m.key, value: m.value }]);
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    sent.push(...step.messages);
    const expected = derive(sent);
    const ok = await until(() => outstanding(expected, last).length === 0, deadline);
    if (!ok) {
      console.error(`\ntimed out after ${TIMEOUT_MS / 1000} s waiting for:\n  ${outstanding(expected, last).join('\n  ')}`);
      console.error('is the service running (sync worker and jobs worker) with the same env as this demo?');
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
      return 1;
    }
    // Structure first, so memberships find their lessons (order does not matter to the result).
    if (i === 0) await sleep(1000);
  }

  console.log(`\n${received} change events for course ${courseId}. Final state:\n`);
  console.log(`  ${pad('enrollment', 12)} ${pad('learner', 10)} ${pad('status', 12)} ${pad('progress', 9)} ${pad('lessons', 8)} ${pad('score', 6)} version`);
  for (const e of [...last.values()].sort((a, b) => a.data.course_enrollment.id.localeCompare(b.data.course_enrollment.id, 'en', { numeric: true }))) {
    const ce = e.data.course_enrollment;
    console.log(
      `  ${pad(ce.id, 12)} ${pad(ce.user.name ?? '', 10)} ${pad(ce.status, 12)} ${pad(`${ce.progress_percent}%`, 9)} ` +
        `${pad(`${ce.remote_data.num_lessons_completed}/${ce.remote_data.num_lessons}`, 8)} ${pad(ce.score === null ? '-' : String(ce.score), 6)} v${e.data.version}`,
    );
  }
  const api = `http://127.0.0.1:${config.api.port}`;
  const auth = '-H "Authorization: Bearer $(cat .infra/api-token)"';
  console.log(`
Query the read API (OpenAPI at ${api}/docs):
  curl ${auth} ${api}/health/ready
  curl ${auth} '${api}/unified/lms/course-enrollments?course_id=${courseId}'
  curl ${auth} ${api}/unified/lms/course-enrollments/${courseId}:${GRACE}
  curl ${auth} '${api}/api/v2/course/${courseId}/users/'`);
  await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
  return 0;

  function derive(messages: InputMessage[]): Map<string, DerivedEnrollment> {
    const facts: Fact[] = [];
    for (const m of messages) {
      const d = decodeMessage({ topic: topicOf(m), key: Buffer.from(m.key), value: Buffer.from(m.value), headers: {} }, config.topics);
      if (!d.ok) throw new Error(`demo sample is invalid: ${d.reason}`);
      facts.push(d.event.fact);
    }
    return foldFacts(facts, { now: new Date().toISOString(), courseUrlTemplate: config.courseUrlTemplate });
  }
}

/** Enrollments whose last received state is not (yet) the derived one. */
function outstanding(expected: Map<string, DerivedEnrollment>, last: Map<string, CourseEnrollmentsEvent>): string[] {
  const out: string[] = [];
  for (const [id, d] of expected) {
    if (!d.exists || d.deleted) continue;
    const got = last.get(id);
    if (!got) out.push(`${id}: nothing received yet (expected ${d.enrollment.status})`);
    else if (!jsonEqual(withoutUpdatedAt(got.data.course_enrollment), d.enrollment)) {
      out.push(
        `${id}: at v${got.data.version} ${got.data.course_enrollment.status} ${got.data.course_enrollment.progress_percent}%, expected ${d.enrollment.status} ${d.enrollment.progress_percent}%`,
      );
    }
  }
  return out;
}

async function until(cond: () => boolean, deadline: number): Promise<boolean> {
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
