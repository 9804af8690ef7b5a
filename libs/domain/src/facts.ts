/**
 * Facts are input events reduced to what the rules need. They are what the projection stores,
 * and everything the service publishes is a pure function of the set of facts it holds.
 *
 * `time` is the instant the fact happened upstream, canonicalised at the edge to a UTC ISO
 * string with exactly six fractional digits (e.g. "2026-11-20T10:15:30.123000Z") so that string
 * order is time order. Ties are broken by `source`, then `id`, in byte order.
 */
export interface FactMeta {
  time: string;
  source: string;
  id: string;
  type: string;
}

export type CoursePrivacy = '' | 'open' | 'private' | 'secret';
export type CourseType = 'self-paced' | 'structured' | 'scheduled';
export const JOIN_STATUSES = ['creator', 'manager', 'joined', 'invited', 'requested'] as const;
export type JoinStatus = (typeof JOIN_STATUSES)[number];

export interface PersonRef {
  id: number;
  username: string;
  real_name: string;
  avatar: string | null;
}

export interface Course {
  id: number;
  name: string;
  type: CourseType;
  slug: string;
  description: string;
  privacy: CoursePrivacy;
  enforce_lessons_order: boolean;
  new_comment_notification_enabled: boolean;
  hide_member_count: boolean;
  meta_title: string;
  meta_description: string;
  og_title: string;
  og_description: string;
  og_image: string;
  image_bigger: string;
  image_big: string;
  image_medium: string;
  image_small: string;
  created_at: string | null;
  created_by: PersonRef | null;
  categories: { id: number; name: string }[];
}

export interface Section {
  id: number;
  name: string;
  position: number;
}

export interface Lesson {
  id: number;
  section_id: number;
  name: string;
  type: 'lesson' | 'quiz';
  status: 'draft' | 'published';
  position: number;
}

export interface UserEmail {
  email: string;
  type: string;
  is_primary: boolean;
}

export interface UserProfile {
  id: number;
  username: string;
  real_name: string;
  avatar: string | null;
  emails: UserEmail[];
}

/** Latest-wins registers: an upsert or a tombstone. */
export type CourseFact = { meta: FactMeta; courseId: number } & ({ deleted: false; course: Course } | { deleted: true });
export type SectionFact = { meta: FactMeta; courseId: number; sectionId: number } & ({ deleted: false; section: Section } | { deleted: true });
export type LessonFact = { meta: FactMeta; courseId: number; lessonId: number } & ({ deleted: false; lesson: Lesson } | { deleted: true });
/** A deleted user's fact carries no profile: erasure keeps nothing personal. */
export type UserFact = { meta: FactMeta; userId: number } & ({ deleted: false; user: UserProfile } | { deleted: true });

export interface Assignment {
  due_at: string | null;
  access_expires_at: string | null;
  is_mandatory: boolean;
}

export interface MembershipFact {
  meta: FactMeta;
  courseId: number;
  userId: number;
  joinStatus: JoinStatus | null;
  actor: { id: number; name: string | null } | null;
  /** undefined = the event did not carry it (unchanged); present = replaces the whole value. */
  assignment?: Assignment;
  customFields?: Record<string, unknown>;
}

export interface ProgressFact {
  meta: FactMeta;
  courseId: number;
  userId: number;
  lessonId: number;
  completed: boolean;
  timeSpentSeconds: number | null;
}

export interface GradeFact {
  meta: FactMeta;
  courseId: number;
  userId: number;
  attemptNumber: number;
  score: number;
  passed: boolean;
}

/**
 * Every kind of fact and its shape. `Fact` and each registry keyed by kind (the stored tables in
 * libs/persistence) are mapped over this list, so a kind added here is a compile error in every
 * registry that does not handle it yet.
 */
export interface FactsByKind {
  course: CourseFact;
  section: SectionFact;
  lesson: LessonFact;
  user: UserFact;
  membership: MembershipFact;
  progress: ProgressFact;
  grade: GradeFact;
}

export type FactKind = keyof FactsByKind;

/** A fact of one kind, tagged with it. */
export type FactOf<K extends FactKind> = { kind: K } & FactsByKind[K];

export type Fact = { [K in FactKind]: FactOf<K> }[FactKind];
