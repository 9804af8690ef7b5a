import { Injectable } from '@nestjs/common';
import type { EnrollmentFacts } from '@app/domain';
import { CourseMemberStats, CourseMemberStatsRepository } from '../repositories/course-member-stats.repository';
import { FactRepository } from '../repositories/fact.repository';
import { ReadDatabases } from './read-databases';

/**
 * What a course view is built from, as versions: the course's register row and its last upsert
 * (their xmin moves on every write, including an erasure scrubbing `created_by` and a late
 * upsert of a deleted course), the structure generation (bumped by every section or lesson
 * fact), and the per-course counters with their count of derivations of its enrollments (any
 * membership, progress or profile change of a member).
 */
export interface CourseVersions {
  deleted: boolean;
  xmin: string;
  snapshot: string | null;
  generation: number | null;
  stats: CourseMemberStats;
}

/** The facts of a course view (api.md), on the read database. */
@Injectable()
export class CourseViewRepository {
  constructor(
    private readonly dbs: ReadDatabases,
    private readonly facts: FactRepository,
    private readonly stats: CourseMemberStatsRepository,
  ) {}

  /** Undefined for a course never seen. */
  async versions(courseId: number): Promise<CourseVersions | undefined> {
    const db = this.dbs.reader;
    const [course]: { xmin: string; snapshot: string | null; deleted: boolean; generation: number | null }[] = await db.query(
      `SELECT c.xmin::text AS xmin, c.deleted,
              (SELECT s.xmin::text FROM course_snapshots s WHERE s.course_id = $1) AS snapshot,
              (SELECT generation FROM recompute_requests WHERE course_id = $1) AS generation
       FROM course_facts c WHERE c.course_id = $1`,
      [courseId],
    );
    if (!course) return undefined;
    return { ...course, stats: await this.stats.read(db, courseId) };
  }

  /**
   * The course's stored facts, with the user's when `userId` is given (0 = none), and whether
   * that user's enrollment exists and is not deleted.
   */
  async viewFacts(courseId: number, userId: number | undefined): Promise<{ facts: EnrollmentFacts; member: boolean }> {
    const db = this.dbs.reader;
    const loaded = await this.facts.loadEnrollmentFacts(db, [{ courseId, userId: userId ?? 0 }]);
    const facts = loaded.get(`${courseId}:${userId ?? 0}`)!;
    if (userId === undefined) return { facts, member: false };
    const rows: unknown[] = await db.query(`SELECT 1 FROM enrollments WHERE course_id = $1 AND user_id = $2 AND NOT deleted`, [courseId, userId]);
    return { facts, member: rows.length > 0 };
  }
}
