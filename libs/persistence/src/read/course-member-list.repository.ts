import { Injectable } from '@nestjs/common';
import { MemberPageRequest, memberPageQuery, memberSearchCountQuery, memberSearchQuery } from './member-list.query';
import { ReadDatabases } from './read-databases';

/** A row of the Course User Dashboard list, as member-list.query.ts selects it. */
export interface CourseMemberRow {
  user_id: number | string;
  username: string | null;
  real_name: string | null;
  avatar: string | null;
  join_status: string | null;
  user_completion_rate: number | string;
  last_active_at: string | null;
  joined_at: string | null;
}

/** The Course User Dashboard list on the read database (the SQL and its costs in member-list.query.ts). */
@Injectable()
export class CourseMemberListRepository {
  constructor(private readonly dbs: ReadDatabases) {}

  /** A page without search, given the number of members it pages through (from the counters). */
  async page(r: MemberPageRequest, count: number): Promise<CourseMemberRow[]> {
    if (r.offset >= count) return [];
    const { sql, params, reversed } = memberPageQuery(r, count);
    const rows: CourseMemberRow[] = await this.dbs.reader.query(sql, params);
    return reversed ? rows.reverse() : rows;
  }

  /** A page with search, and the count of every member the search matches (the counters cannot know it). */
  async search(r: MemberPageRequest & { search: string }): Promise<{ count: number; rows: CourseMemberRow[] }> {
    const [{ count }]: { count: number }[] = await this.dbs.reader.query(...memberSearchCountQuery(r));
    const rows: CourseMemberRow[] = r.offset < count ? await this.dbs.reader.query(...memberSearchQuery(r)) : [];
    return { count, rows };
  }
}
