import { formatTraceparent, isValidTracestate, parseTraceparent, readTraceContext } from './trace-context';
import { accept, binary, cloudEvent, structured } from './testing/messages';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;
const progress = () => cloudEvent('lms.lesson.completed', { course_id: 1, lesson_id: 2, user_id: 3 });

describe('W3C traceparent', () => {
  it('reads a valid one and writes it back unchanged', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, spanId: SPAN, flags: 1 });
    expect(formatTraceparent(parseTraceparent(VALID)!)).toBe(VALID);
  });

  it.each([
    ['upper case', VALID.toUpperCase()],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version 00 with more fields', `${VALID}-extra`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['not a string', 42],
    ['empty', ''],
  ])('rejects %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('reads a higher version as version 00, extra fields dropped', () => {
    expect(readTraceContext(`01-${TRACE}-${SPAN}-00-more`, undefined)).toEqual({ traceparent: `00-${TRACE}-${SPAN}-00` });
  });
});

describe('W3C tracestate', () => {
  it.each(['vendor=abc', 'a=1,b@tenant=x y', ' a=1 , b=2 '])('accepts %j', (v) => expect(isValidTracestate(v)).toBe(true));
  it.each(['novalue', 'A=1', 'a=1,a=2', `a=${'x'.repeat(600)}`, 'a=1=2'])('rejects %j', (v) => expect(isValidTracestate(v)).toBe(false));

  it('is dropped when invalid, the traceparent kept', () => {
    expect(readTraceContext(VALID, 'A=1')).toEqual({ traceparent: VALID });
    expect(readTraceContext(VALID, 'a=1')).toEqual({ traceparent: VALID, tracestate: 'a=1' });
  });
});

describe('decoding the distributed tracing extension', () => {
  it('reads traceparent and tracestate attributes in structured mode', () => {
    expect(accept(structured({ ...progress(), traceparent: VALID, tracestate: 'v=1' })).traceContext).toEqual({ traceparent: VALID, tracestate: 'v=1' });
  });

  it('reads ce_traceparent and ce_tracestate headers in binary mode', () => {
    const msg = binary(progress());
    msg.headers = { ...msg.headers, ce_traceparent: Buffer.from(VALID), ce_tracestate: 'v=1' };
    expect(accept(msg).traceContext).toEqual({ traceparent: VALID, tracestate: 'v=1' });
  });

  it('has none when absent', () => {
    expect(accept(structured(progress())).traceContext).toBeNull();
    expect(accept(binary(progress())).traceContext).toBeNull();
  });

  it('accepts the event and ignores the context when it is malformed, in either mode', () => {
    for (const bad of ['00-zz', 42, { a: 1 }, `00-${'0'.repeat(32)}-${SPAN}-01`]) {
      expect(accept(structured({ ...progress(), traceparent: bad, tracestate: 'v=1' })).traceContext).toBeNull();
    }
    const invalidUtf8 = binary(progress());
    invalidUtf8.headers = { ...invalidUtf8.headers, ce_traceparent: Buffer.from([0xff, 0xfe, 0x00]) };
    expect(accept(invalidUtf8).traceContext).toBeNull();
    const repeated = binary(progress());
    repeated.headers = { ...repeated.headers, ce_traceparent: [VALID, `00-${TRACE}-${'1'.repeat(16)}-01`] };
    expect(accept(repeated).traceContext).toBeNull();
  });
});
