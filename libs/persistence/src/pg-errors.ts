/**
 * Postgres deadlock_detected (40P01) or serialization_failure (40001): the transaction was rolled
 * back whole, so running it again is safe. Reported by pg directly or wrapped by TypeORM.
 */
export const isLockConflict = (err: unknown): boolean => {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.code ?? e?.driverError?.code;
  return code === '40P01' || code === '40001';
};
