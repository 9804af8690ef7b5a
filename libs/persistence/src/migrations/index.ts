import { InitialProjection1763890000000 } from './1763890000000-initial-projection';
import { OutboxParking1764000300000 } from './1764000300000-outbox-parking';
import { ErasedUsersAndCourseSnapshots1764000600000 } from './1764000600000-erased-users-and-course-snapshots';
import { ReadPaths1764000700000 } from './1764000700000-read-paths';
import { TraceContext1764000800000 } from './1764000800000-trace-context';
import { RelaySlots1764000900000 } from './1764000900000-relay-slots';
import { RegisterContentChanged1764001000000 } from './1764001000000-register-content-changed';
import { OutboxUnassignedIndex1764001100000 } from './1764001100000-outbox-unassigned-index';
import { MemberSearchNormalised1764001200000 } from './1764001200000-member-search-normalised';
import { ProcessedEventContentHash1764001300000 } from './1764001300000-processed-event-content-hash';
import { RetractedEvents1764001400000 } from './1764001400000-retracted-events';
import { RecomputeAttempts1764001500000 } from './1764001500000-recompute-attempts';

/** Listed explicitly (not globbed) so the same list works from ts-jest sources and from dist. */
export const MIGRATIONS = [
  InitialProjection1763890000000,
  OutboxParking1764000300000,
  ErasedUsersAndCourseSnapshots1764000600000,
  ReadPaths1764000700000,
  TraceContext1764000800000,
  RelaySlots1764000900000,
  RegisterContentChanged1764001000000,
  OutboxUnassignedIndex1764001100000,
  MemberSearchNormalised1764001200000,
  ProcessedEventContentHash1764001300000,
  RetractedEvents1764001400000,
  RecomputeAttempts1764001500000,
];
