import { BadRequestException } from '@nestjs/common';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { CANONICAL_MICROS_PATTERN } from '@app/domain';

/** The keyset position after which the next page starts. */
export interface CursorPosition {
  /** `updated_at` in UTC with microseconds: `2026-11-20T10:15:30.123456Z`. */
  u: string;
  /** Enrollment id `course:user`. */
  i: string;
}

const POS_TIME = new RegExp(CANONICAL_MICROS_PATTERN);
const POS_ID = /^[1-9]\d{0,15}:[1-9]\d{0,15}$/;

/**
 * Opaque cursors: base64url(JSON position + filter fingerprint) "." base64url(HMAC-SHA256).
 * The key is derived from the deployment's API tokens, so a cursor made by another deployment,
 * edited by hand or used with other filters is refused with 400, never passed to SQL unchecked.
 */
export class CursorCodec {
  private readonly key: Buffer;

  constructor(secretMaterial: readonly string[]) {
    this.key = createHash('sha256')
      .update('enrollment-sync/read-api/cursor/v1\n')
      .update([...secretMaterial].sort().join('\n'))
      .digest();
  }

  static fingerprint(filters: object): string {
    return createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 16);
  }

  encode(pos: CursorPosition, fingerprint: string): string {
    const body = Buffer.from(JSON.stringify({ v: 1, u: pos.u, i: pos.i, f: fingerprint }), 'utf8').toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  decode(cursor: string, fingerprint: string): CursorPosition {
    const bad = (why: string) => new BadRequestException(`next_cursor is invalid: ${why}`);
    if (cursor.length > 512) throw bad('too long');
    const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(cursor);
    if (!m) throw bad('malformed');
    const expected = Buffer.from(this.sign(m[1]), 'utf8');
    const given = Buffer.from(m[2], 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw bad('signature mismatch');
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
    } catch {
      throw bad('malformed');
    }
    const p = payload as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || p.v !== 1 || typeof p.u !== 'string' || typeof p.i !== 'string' || typeof p.f !== 'string') {
      throw bad('malformed');
    }
    if (!POS_TIME.test(p.u) || Number.isNaN(Date.parse(p.u)) || !POS_ID.test(p.i)) throw bad('malformed');
    if (p.f !== fingerprint) throw bad('it was issued for different filters');
    return { u: p.u, i: p.i };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
