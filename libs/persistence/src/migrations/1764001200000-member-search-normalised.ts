import { MigrationInterface, QueryRunner } from 'typeorm';
import { trigramSchema } from './1764000700000-read-paths';

const FIELDS = ['username', 'real_name'];
/** searchForm (read/member-list.query.ts) of a profile field: the index must be on the same expression. */
const normalised = (field: string): string => `lower(normalize(profile->>'${field}', NFC))`;

/**
 * The member search compares NFC, lower-cased text on both sides, so that a name stored
 * decomposed (`jose` + U+0301) and a search typed composed (`josé`) find each other: the trigram
 * indexes move from the raw fields to that expression (`normalize` is immutable, Postgres 13+).
 */
export class MemberSearchNormalised1764001200000 implements MigrationInterface {
  name = 'MemberSearchNormalised1764001200000';

  async up(q: QueryRunner): Promise<void> {
    const trgm = await trigramSchema(q);
    if (trgm === undefined) return;
    for (const field of FIELDS) {
      await q.query(`CREATE INDEX user_facts_${field}_search_idx ON user_facts USING gin ((${normalised(field)}) "${trgm}".gin_trgm_ops) WHERE NOT deleted`);
      await q.query(`DROP INDEX IF EXISTS user_facts_${field}_trgm_idx`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    const trgm = await trigramSchema(q);
    for (const field of FIELDS) {
      await q.query(`DROP INDEX IF EXISTS user_facts_${field}_search_idx`);
      if (trgm !== undefined) {
        await q.query(`CREATE INDEX user_facts_${field}_trgm_idx ON user_facts USING gin ((profile->>'${field}') "${trgm}".gin_trgm_ops) WHERE NOT deleted`);
      }
    }
  }
}
