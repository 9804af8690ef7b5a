import { decodeMessage } from '@app/contracts';
import { loadConfig } from '@app/config';
import { events } from '@app/workload';
import { contentHash } from './processed-events.repository';

const topics = loadConfig({ NODE_ENV: 'test' }).topics;
const factOf = (value: string, headers?: Record<string, string>) => {
  const r = decodeMessage({ topic: topics.memberships, key: null, value: Buffer.from(value), headers }, topics);
  if (!r.ok) throw new Error(r.reason);
  return r.event.fact;
};

describe('contentHash', () => {
  const o = { time: '2026-11-20T09:00:00Z', id: 'm-1', source: '/hash' };
  const joined = events.membershipChanged({ course_id: 1, user_id: 2, join_status: 'joined' }, o).value;

  it('is the same for the same event however it is written: key order, time notation, mode, trace context', () => {
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(joined)).reverse()));
    const sameInstant = joined.replace('2026-11-20T09:00:00Z', '2026-11-20T10:00:00.000+01:00');
    const traced = JSON.stringify({ ...JSON.parse(joined), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const { data } = JSON.parse(joined);
    const binary = factOf(JSON.stringify(data), {
      ce_specversion: '1.0',
      ce_id: o.id,
      ce_source: o.source,
      ce_type: 'lms.membership.changed',
      ce_time: o.time,
      'content-type': 'application/json',
    });
    const h = contentHash(factOf(joined));
    expect(h).toHaveLength(16);
    for (const other of [factOf(reordered), factOf(sameInstant), factOf(traced), binary]) expect(contentHash(other).equals(h)).toBe(true);
  });

  it('differs for another payload or another time under the same source and id', () => {
    const h = contentHash(factOf(joined));
    const manager = events.membershipChanged({ course_id: 1, user_id: 2, join_status: 'manager' }, o).value;
    const later = events.membershipChanged({ course_id: 1, user_id: 2, join_status: 'joined' }, { ...o, time: '2026-11-20T09:00:01Z' }).value;
    for (const other of [manager, later]) expect(contentHash(factOf(other)).equals(h)).toBe(false);
  });
});
