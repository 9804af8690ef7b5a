import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError } from 'kafkajs';
import { classifyFailure, isLockConflict, isRecordRefused, recordRefusal } from './failure-classification';

const pg = (code: string, message = 'pg error') => Object.assign(new Error(message), { code });
/** TypeORM's QueryFailedError keeps the driver's error as `driverError`. */
const typeorm = (driverError: Error) => Object.assign(new Error(`QueryFailedError: ${driverError.message}`), { driverError });
const protocol = (type: string, retriable: boolean) => new KafkaJSProtocolError({ message: type, type, code: 1, retriable } as never);

describe('classifyFailure', () => {
  it.each([
    ['08006 connection failure', pg('08006')],
    ['57P01 admin shutdown', pg('57P01')],
    ['57P03 cannot connect now', pg('57P03')],
    ['53300 too many connections', pg('53300')],
    ['57014 statement timeout', pg('57014')],
    ['a wrapped connection failure', typeorm(pg('08003'))],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['pg "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly')],
    ['pg-pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['broker connection error', new KafkaJSConnectionError('Connection error: ECONNREFUSED')],
    ['broker request timeout', new KafkaJSRequestTimeoutError('Request produce(key: 0, version: 7) timed out')],
    ['a retriable protocol error', protocol('NOT_LEADER_OR_FOLLOWER', true)],
    ['retries exhausted on a retriable error', new KafkaJSNumberOfRetriesExceeded(protocol('LEADER_NOT_AVAILABLE', true), { retryCount: 5, retryTime: 1 })],
    ['retries exhausted on something unknown', new KafkaJSNumberOfRetriesExceeded(new Error('???'), { retryCount: 5, retryTime: 1 })],
  ])('%s is transient', (_name, err) => {
    expect(classifyFailure(err)).toBe('transient');
  });

  it.each([
    ['40001 serialization failure', pg('40001')],
    ['40P01 deadlock, wrapped by TypeORM', typeorm(pg('40P01'))],
  ])('%s is a conflict', (_name, err) => {
    expect(classifyFailure(err)).toBe('conflict');
    expect(isLockConflict(err)).toBe(true);
  });

  it.each([
    ['22021 NUL byte', typeorm(pg('22021', 'invalid byte sequence for encoding "UTF8": 0x00'))],
    ['22P05 unsupported Unicode escape', pg('22P05')],
    ['22P02 invalid JSON', pg('22P02', 'invalid input syntax for type json')],
    ['54000 index row size', pg('54000', 'index row size 8016 exceeds btree version 4 maximum 2704')],
    ['22008 date out of range', pg('22008')],
    ['a stack overflow', new RangeError('Maximum call stack size exceeded')],
    ['a record too large', protocol('MESSAGE_TOO_LARGE', false)],
    ['anything unknown', new Error('something else')],
    ['a non-error value', 'boom'],
    ['null', null],
  ])('%s is possibly poison', (_name, err) => {
    expect(classifyFailure(err)).toBe('poison');
    expect(isLockConflict(err)).toBe(false);
  });

  it('recognises the broker refusing records for good, also after kafkajs gave up retrying', () => {
    expect(isRecordRefused(protocol('MESSAGE_TOO_LARGE', false))).toBe(true);
    expect(isRecordRefused(protocol('RECORD_LIST_TOO_LARGE', false))).toBe(true);
    expect(isRecordRefused(new KafkaJSNumberOfRetriesExceeded(protocol('INVALID_RECORD', false), { retryCount: 1, retryTime: 1 }))).toBe(true);
    expect(isRecordRefused(protocol('NOT_LEADER_OR_FOLLOWER', true))).toBe(false);
    expect(isRecordRefused(new KafkaJSConnectionError('down'))).toBe(false);
  });

  it("names the refusal by its type and the broker's message, also when wrapped", () => {
    const tooLarge = new KafkaJSProtocolError({
      message: 'The request included a message larger than the max message size the server will accept',
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
    } as never);
    expect(recordRefusal(tooLarge)).toBe('MESSAGE_TOO_LARGE: The request included a message larger than the max message size the server will accept');
    expect(recordRefusal(new KafkaJSNumberOfRetriesExceeded(protocol('INVALID_RECORD', false), { retryCount: 1, retryTime: 1 }))).toBe('INVALID_RECORD');
    expect(recordRefusal(protocol('NOT_LEADER_OR_FOLLOWER', true))).toBeUndefined();
    expect(recordRefusal(new Error('MESSAGE_TOO_LARGE'))).toBeUndefined();
  });

  it('stops following a cycle of causes', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b: Error & { cause?: unknown } = new Error('b');
    a.cause = b;
    b.cause = a;
    expect(classifyFailure(a)).toBe('poison');
  });
});
