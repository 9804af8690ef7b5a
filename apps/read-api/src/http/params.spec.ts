import { BadRequestException } from '@nestjs/common';
import type { Request } from 'express';
import { enumList, QueryParams, rfc3339, searchText } from './params';

const req = (query: string) => ({ originalUrl: `/x?${query}` }) as Request;
const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestException);
    return (err as BadRequestException).message;
  }
  throw new Error('expected a 400');
};

describe('QueryParams', () => {
  const declared = ['course_id', 'statuses', 'updated_at[gt]'];

  it('reads declared parameters, and repeated ones only where allowed', () => {
    const q = QueryParams.of(req('course_id=5&statuses=a&statuses=b'), declared, ['statuses']);
    expect(q.single('course_id')).toBe('5');
    expect(q.all('statuses')).toEqual(['a', 'b']);
    expect(q.single('updated_at[gt]')).toBeUndefined();
    expect(message(() => QueryParams.of(req('course_id=5&course_id=6'), declared, ['statuses']))).toContain('course_id');
  });

  it.each([
    ['course_id[]=5', 'course_id'],
    ['course_id%5B%5D=5', 'course_id'],
    ['course_id[0]=5', 'course_id'],
    ['statuses[]=a', 'statuses'],
    ['updated_at[gt][]=x', 'updated_at[gt]'],
    ['updated_at[eq]=x', 'updated_at[eq]'],
    ['courseid=5', 'courseid'],
    ['=5', '""'],
  ])('refuses %s naming %s', (query, name) => {
    expect(message(() => QueryParams.of(req(query), declared, ['statuses']))).toContain(name);
  });

  it('echoes at most 64 characters of an unknown name', () => {
    const m = message(() => QueryParams.of(req(`${'k'.repeat(5000)}=1`), declared));
    expect(m.length).toBeLessThan(200);
  });
});

describe('rfc3339', () => {
  it.each([
    ['2026-11-20T10:15:30Z', '2026-11-20 10:15:30.000000+00'],
    ['2026-11-20T10:15:30.1234567+16:00', '2026-11-19 18:15:30.123456+00'],
    ['2026-11-20T10:15:30-23:59', '2026-11-21 10:14:30.000000+00'],
    ['0001-01-01T00:00:00+00:01', '0001-12-31 23:59:00.000000+00 BC'],
    ['2026-11-20T10:15:30 01:00', '2026-11-20 09:15:30.000000+00'], // "+" arrived as a space
  ])('reads %s as the instant %s', (given, sql) => {
    expect(rfc3339(given, 'updated_at[gt]').sql).toBe(sql);
  });

  it.each(['yesterday', '2026-02-30T00:00:00Z', '2026-11-01T10:00:00', '2026-11-01T10:00:00+24:00', '9999-12-31T23:59:59-00:01', '2026-11-01T10:00:00.1234567890Z'])(
    'refuses %s naming the parameter',
    (given) => {
      expect(message(() => rfc3339(given, 'updated_at[lt]'))).toMatch(/^updated_at\[lt\] /);
    },
  );
});

describe('enumList and searchText', () => {
  it('names the parameter and echoes a bounded value', () => {
    expect(message(() => enumList(['x'.repeat(10_000)], 'status', ['a']))).toMatch(/^status: "x{64}…" is not one of a$/);
    expect(message(() => searchText('a\u0000b', 'search', 200))).toContain('search');
    expect(message(() => searchText('a'.repeat(201), 'search', 200))).toContain('search');
    expect(searchText(undefined, 'search', 200)).toBe('');
  });
});
