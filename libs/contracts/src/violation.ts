/**
 * A message that breaks the wire contract. Thrown by the validators of this lib and caught by
 * `decodeMessage`, which turns it into `{ ok: false, reason }`. The message always names the
 * offending field with its path (`data.lesson.status`, `time`, `header ce_id`).
 */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

const MAX_SHOWN = 80;

/** A short, safe rendering of an offending value for an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value === 'object' ? 'object' : typeof value}`.replace('a object', 'an object');
}

export function violation(path: string, expectation: string, got: unknown): ContractViolation {
  return new ContractViolation(`${path} ${expectation}, got ${describeValue(got)}`);
}
