import { laterLsn, lsnAtLeast, lsnValue, readerHasReplayed } from './replica-position';

describe('serving a page from the read database', () => {
  it('reads pg_lsn values as byte positions, refusing anything else', () => {
    expect(lsnValue('0/0')).toBe(0n);
    expect(lsnValue('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(lsnValue('1/0')! > lsnValue('0/FFFFFFFF')!).toBe(true);
    for (const bad of [null, undefined, '', '16', '16/', 'G/0', '1/2/3', '123456789/0']) expect(lsnValue(bad)).toBeUndefined();
  });

  it('a standby serves once it has replayed up to the position taken with the horizon, not before', () => {
    const standby = (replayLsn: string | null) => ({ inRecovery: true, replayLsn, currentLsn: null });
    expect(readerHasReplayed('16/B374D848', standby('16/B374D848'))).toBe(true);
    expect(readerHasReplayed('16/B374D848', standby('17/0'))).toBe(true);
    expect(readerHasReplayed('16/B374D848', standby('16/B374D847'))).toBe(false);
    // Compared as numbers: as text "9/0" would sort after "10/0".
    expect(readerHasReplayed('10/0', standby('9/FFFFFFFF'))).toBe(false);
    expect(readerHasReplayed('9/0', standby('10/0'))).toBe(true);
    expect(readerHasReplayed('1/0', standby(null))).toBe(false);
  });

  it('a server not in recovery (DATABASE_READ_URL naming the primary) serves by its own current position', () => {
    expect(readerHasReplayed('2/10', { inRecovery: false, replayLsn: null, currentLsn: '2/10' })).toBe(true);
    expect(readerHasReplayed('2/10', { inRecovery: false, replayLsn: null, currentLsn: '2/F' })).toBe(false);
    // A standby's current position is not what it has replayed.
    expect(readerHasReplayed('2/10', { inRecovery: true, replayLsn: '2/0', currentLsn: '3/0' })).toBe(false);
  });

  it('an unreadable horizon position never lets the reader serve', () => {
    expect(readerHasReplayed('', { inRecovery: true, replayLsn: '5/0', currentLsn: null })).toBe(false);
  });

  it('a position remembered from an earlier look serves while the horizon stays behind it', () => {
    expect(lsnAtLeast('3/0', '2/FFFFFFFF')).toBe(true);
    expect(lsnAtLeast('3/0', '3/1')).toBe(false);
    expect(lsnAtLeast(undefined, '0/0')).toBe(false);
  });

  it('keeps the later of two positions', () => {
    expect(laterLsn('1/0', '0/FFFFFFFF')).toBe('1/0');
    expect(laterLsn('0/10', '0/20')).toBe('0/20');
    expect(laterLsn(undefined, '0/20')).toBe('0/20');
    expect(laterLsn('0/20', 'junk')).toBe('0/20');
    expect(laterLsn(undefined, undefined)).toBeUndefined();
  });
});
