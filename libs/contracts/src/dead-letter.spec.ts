import { deadLetterMessage, DLQ_HEADERS, DLQ_HEADERS_DROPPED_HEADER, DLQ_TRUNCATED_HEADER, MAX_DLQ_REASON_CHARS } from './dead-letter';
import { MAX_HEADER_BYTES, MAX_HEADERS } from './envelope';

describe('dead letters', () => {
  const key = Buffer.from('42:7');
  const value = Buffer.from('not json');

  it('copies key, value and headers unchanged and adds the five dlq headers', () => {
    const traceparent = Buffer.from('00-abc-01');
    const dl = deadLetterMessage(
      { key, value, headers: { traceparent, ce_id: ['a', 'b'], gone: undefined } },
      { topic: 'lms.courses.v1', partition: 3, offset: '9007199254740993' },
      'value is not valid JSON at position 0: unexpected "n"',
    );
    expect(dl.key).toBe(key);
    expect(dl.value).toBe(value);
    expect(dl.headers).toEqual({
      traceparent,
      ce_id: ['a', 'b'],
      dlq_reason: 'value is not valid JSON at position 0: unexpected "n"',
      dlq_stage: 'decode',
      dlq_topic: 'lms.courses.v1',
      dlq_partition: '3',
      dlq_offset: '9007199254740993',
    });
    expect(Object.values(DLQ_HEADERS).sort()).toEqual(['dlq_offset', 'dlq_partition', 'dlq_reason', 'dlq_stage', 'dlq_topic']);
  });

  it('says the stage: apply when the store refused a message that passed the contract', () => {
    const dl = deadLetterMessage({ key, value }, { topic: 't', partition: 1, offset: '2' }, 'refused', 'apply');
    expect(dl.headers[DLQ_HEADERS.stage]).toBe('apply');
  });

  it('replaces dlq headers of a message that was dead-lettered before, including a truncation mark', () => {
    const dl = deadLetterMessage(
      {
        key: null,
        value: null,
        headers: { dlq_reason: 'old', dlq_stage: 'apply', dlq_topic: 'old', dlq_offset: '1', dlq_partition: '0', [DLQ_TRUNCATED_HEADER]: '9' },
      },
      { topic: 't', partition: 0, offset: '5' },
      'new',
    );
    expect(dl.headers).toEqual({ dlq_reason: 'new', dlq_stage: 'decode', dlq_topic: 't', dlq_partition: '0', dlq_offset: '5' });
  });

  it('bounds the reason', () => {
    const dl = deadLetterMessage({ key, value }, { topic: 't', partition: 0, offset: '0' }, 'x'.repeat(5000));
    expect(dl.headers.dlq_reason).toHaveLength(MAX_DLQ_REASON_CHARS);
    expect(String(dl.headers.dlq_reason).endsWith('…')).toBe(true);
  });

  it('bounds the reason without cutting a character in half (no lone surrogate in the header)', () => {
    const reason = 'x'.repeat(MAX_DLQ_REASON_CHARS - 2) + '😀'.repeat(10);
    const shown = String(deadLetterMessage({ key, value }, { topic: 't', partition: 0, offset: '0' }, reason).headers.dlq_reason);
    expect(shown).toBe(`${'x'.repeat(MAX_DLQ_REASON_CHARS - 2)}…`);
    expect(Buffer.from(shown, 'utf8').toString('utf8')).toBe(shown);
  });
});

describe('dead letters within the header bounds', () => {
  const origin = { topic: 't', partition: 0, offset: '5' };
  const many = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, 'v']));

  it('a message with room to spare keeps every header and gets no dlq_headers_dropped', () => {
    const dl = deadLetterMessage({ key: null, value: null, headers: many(40) }, origin, 'why');
    expect(Object.keys(dl.headers).filter((h) => h.startsWith('x-h'))).toHaveLength(40);
    expect(dl.headers[DLQ_HEADERS_DROPPED_HEADER]).toBeUndefined();
  });

  it('a copy that would break the bounds keeps the first headers that fit and counts the rest with those dropped before', () => {
    const dl = deadLetterMessage({ key: null, value: null, headers: many(64) }, origin, 'why', 'decode', 100);
    const kept = Object.keys(dl.headers).filter((h) => h.startsWith('x-h'));
    expect(Object.keys(dl.headers).length).toBeLessThanOrEqual(MAX_HEADERS - 1); // room for dlq_truncated
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => `x-h${i}`));
    expect(Number(dl.headers[DLQ_HEADERS_DROPPED_HEADER])).toBe(100 + 64 - kept.length);
    expect(dl.headers[DLQ_HEADERS.reason]).toBe('why');
  });

  it('the byte bound counts as well: a header that would cross it is dropped', () => {
    const big = 'x'.repeat(MAX_HEADER_BYTES / 2);
    const dl = deadLetterMessage({ key: null, value: null, headers: { a: big, b: big, c: 'small' } }, origin, 'why');
    expect(Object.keys(dl.headers)).toEqual(expect.arrayContaining(['a', 'c']));
    expect(dl.headers.b).toBeUndefined();
    expect(dl.headers[DLQ_HEADERS_DROPPED_HEADER]).toBe('1');
  });
});
