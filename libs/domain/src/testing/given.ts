/**
 * given/when style scenarios:
 *
 *   const e = given(course(1), lesson(1, 10), membership(1, 7, 'joined'))
 *     .when({ now: ms(200_000) })
 *     .enrollment(1, 7);
 *
 * Every derivation is also checked against the same facts reversed and shuffled with cloned
 * duplicates: a scenario test therefore also fails when the result depends on arrival order.
 */
import { deriveCourseView } from '../course-view';
import type { CourseView } from '../course-view';
import type { CourseEnrollmentWithoutUpdatedAt, DeriveContext, DerivedEnrollment } from '../enrollment';
import type { Fact } from '../facts';
import { foldFacts, indexFacts } from '../fold';
import { ms } from './facts';

export const DEFAULT_CTX: DeriveContext = {
  now: ms(1_000_000),
  courseUrlTemplate: 'https://lms.example/courses/{id}/{slug}',
};

/** Deterministic shuffle (mulberry32) so failures reproduce. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The facts in other arrival orders, with cloned (not identical) duplicates. */
export function otherArrivals(facts: readonly Fact[]): Fact[][] {
  return [[...facts].reverse(), shuffled([...facts, ...facts.map((f) => structuredClone(f))], facts.length + 1)];
}

export class Scenario {
  constructor(
    readonly facts: readonly Fact[],
    readonly ctx: DeriveContext = DEFAULT_CTX,
  ) {}

  and(...more: Fact[]): Scenario {
    return new Scenario([...this.facts, ...more], this.ctx);
  }

  when(ctx: Partial<DeriveContext>): Scenario {
    return new Scenario(this.facts, { ...this.ctx, ...ctx });
  }

  /** foldFacts, checked to be the same for other arrival orders. */
  fold(): Map<string, DerivedEnrollment> {
    const result = foldFacts(this.facts, this.ctx);
    for (const other of otherArrivals(this.facts)) expect(foldFacts(other, this.ctx)).toEqual(result);
    return result;
  }

  /** The derived enrollment, or undefined when it does not exist. */
  derived(courseId: number, userId: number): DerivedEnrollment | undefined {
    return this.fold().get(`${courseId}:${userId}`);
  }

  /** The CourseEnrollments object (without updated_at); fails the test when it does not exist. */
  enrollment(courseId: number, userId: number): CourseEnrollmentWithoutUpdatedAt {
    const d = this.derived(courseId, userId);
    if (!d?.exists) throw new Error(`enrollment ${courseId}:${userId} does not exist`);
    return d.enrollment;
  }

  view(courseId: number, userId?: number): CourseView {
    const derive = (facts: readonly Fact[]) => {
      const index = indexFacts(facts);
      const user = userId === undefined ? undefined : { userId, ...pick(index.enrollmentFacts(courseId, userId), 'memberships', 'progress') };
      return deriveCourseView(index.courseFacts(courseId), user);
    };
    const result = derive(this.facts);
    for (const other of otherArrivals(this.facts)) expect(derive(other)).toEqual(result);
    return result;
  }
}

function pick<T, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}

export const given = (...facts: Fact[]): Scenario => new Scenario(facts);
