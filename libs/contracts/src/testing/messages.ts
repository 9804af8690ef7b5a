/** Test helpers: input messages in both CloudEvents modes. Not part of the build. */
import { decodeMessage, InputEvent, KafkaInputMessage, TopicNames } from '../envelope';
import { INPUT_EVENTS, InputEventType } from '../input-events';
import { CloudEvent, encodeBinary, encodeStructured } from '../output-event';

export const TEST_TOPICS: TopicNames = {
  courses: 'lms.courses.v1',
  memberships: 'lms.memberships.v1',
  lessonProgress: 'lms.lesson-progress.v1',
  users: 'lms.users.v1',
};

export const topicOf = (type: InputEventType): string => TEST_TOPICS[INPUT_EVENTS[type].topic];

export function cloudEvent(type: string, data: unknown, overrides: Record<string, unknown> = {}): CloudEvent {
  return {
    specversion: '1.0',
    id: 'evt-9381',
    source: '/community',
    type,
    time: '2026-11-20T10:15:30.123456Z',
    data,
    ...overrides,
  };
}

const defaultTopic = (type: string): string => (Object.hasOwn(INPUT_EVENTS, type) ? topicOf(type as InputEventType) : TEST_TOPICS.courses);

export function structured(event: CloudEvent | Record<string, unknown>, topic?: string): KafkaInputMessage {
  return {
    topic: topic ?? defaultTopic(String(event.type)),
    key: Buffer.from('42'),
    value: encodeStructured(event as CloudEvent),
    headers: {},
  };
}

export function binary(event: CloudEvent, topic?: string): KafkaInputMessage {
  const { headers, value } = encodeBinary(event);
  return { topic: topic ?? defaultTopic(event.type), key: Buffer.from('42'), value, headers };
}

export function raw(value: Buffer | string | null, headers: KafkaInputMessage['headers'] = {}, topic = TEST_TOPICS.courses): KafkaInputMessage {
  return { topic, key: null, value: typeof value === 'string' ? Buffer.from(value) : value, headers };
}

/** Decodes and fails the test with the reason when the message is rejected. */
export function accept(msg: KafkaInputMessage): InputEvent {
  const r = decodeMessage(msg, TEST_TOPICS);
  if (!r.ok) throw new Error(`expected the message to be accepted, got: ${r.reason}`);
  return r.event;
}

/** Decodes and returns the rejection reason; fails the test when the message is accepted. */
export function reject(msg: KafkaInputMessage): string {
  const r = decodeMessage(msg, TEST_TOPICS);
  if (r.ok) throw new Error(`expected the message to be rejected, got ${JSON.stringify(r.event.fact)}`);
  return r.reason;
}
