import { InitialProjection1763890000000 } from './1763890000000-initial-projection';
import { ReadPaths1764000700000 } from './1764000700000-read-paths';

/** Listed explicitly (not globbed) so the same list works from ts-jest sources and from dist. */
export const MIGRATIONS = [InitialProjection1763890000000, ReadPaths1764000700000];
