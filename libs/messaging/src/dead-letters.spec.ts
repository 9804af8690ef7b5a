import { deadLetterMessage, DLQ_TRUNCATED_HEADER } from '@app/contracts';
import { fitDeadLetter, recordBytes } from './dead-letters';

describe('fitting a dead letter to the topic limit', () => {
  const origin = { topic: 'lms.memberships.v1', partition: 2, offset: '41' };

  it('leaves a letter that fits as it is', () => {
    const m = deadLetterMessage({ key: Buffer.from('k'), value: Buffer.alloc(100, 1), headers: { a: 'b' } }, origin, 'bad');
    expect(fitDeadLetter(m, 10_000)).toBe(m);
  });

  it('cuts the value to fit and says how big it was', () => {
    const m = deadLetterMessage({ key: Buffer.from('k'), value: Buffer.alloc(50_000, 7), headers: { trace: 'x' } }, origin, 'too big');
    const fitted = fitDeadLetter(m, 20_000);
    expect(recordBytes(fitted)).toBeLessThanOrEqual(20_000);
    expect(fitted.headers[DLQ_TRUNCATED_HEADER]).toBe('50000');
    expect(fitted.headers.trace).toBe('x');
    expect(fitted.headers.dlq_reason).toBe('too big');
    expect(fitted.key?.toString()).toBe('k');
    expect(Buffer.compare(fitted.value!, m.value!.subarray(0, fitted.value!.length))).toBe(0);
    expect(fitted.value!.length).toBeGreaterThan(19_000);
  });

  it('drops the original headers and cuts the key when they alone do not fit, keeping the dlq headers', () => {
    const m = deadLetterMessage({ key: Buffer.alloc(30_000, 1), value: Buffer.alloc(10, 2), headers: { huge: Buffer.alloc(30_000, 3) } }, origin, 'bad', 'apply');
    const fitted = fitDeadLetter(m, 20_000);
    expect(recordBytes(fitted)).toBeLessThanOrEqual(20_000);
    expect(fitted.headers.huge).toBeUndefined();
    expect(fitted.headers).toMatchObject({ dlq_reason: 'bad', dlq_stage: 'apply', dlq_topic: origin.topic, dlq_offset: '41', [DLQ_TRUNCATED_HEADER]: '10' });
  });
});
