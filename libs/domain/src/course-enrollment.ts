/** The unified LMS CourseEnrollments object, exactly as rules.md defines it. */
export const ENROLLMENT_STATUSES = ['withdrawn', 'unknown', 'assigned', 'passed', 'failed', 'completed', 'expired', 'overdue', 'in_progress', 'enrolled'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export interface CourseEnrollment {
  id: string;
  user: { id: string; name: string | null; emails: { email: string; type: string; is_primary: boolean }[] };
  course: { id: string; title: string | null };
  status: EnrollmentStatus;
  assigned_at: string | null;
  due_at: string | null;
  enrolled_at: string | null;
  started_at: string | null;
  last_activity_at: string | null;
  completed_at: string | null;
  progress_percent: number;
  time_spent_seconds: number | null;
  score: number | null;
  attempt_number: number | null;
  attempts_count: number | null;
  is_mandatory: boolean;
  assigned_by: { id: string; name: string | null } | null;
  urls: { url: string; type: 'course' }[];
  created_at: string;
  updated_at: string;
  custom_fields: Record<string, unknown>;
  remote_data: {
    course_id: number;
    user_id: number;
    join_status: string | null;
    course_type: string | null;
    course_privacy: string | null;
    num_lessons: number;
    num_sections: number;
    num_lessons_completed: number;
    user_completion_rate: number;
  };
}

export type CourseEnrollmentField = keyof CourseEnrollment;
