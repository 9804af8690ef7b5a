/**
 * RFC 3986 URI-reference (a URI or a relative reference), as CloudEvents requires of `source`.
 * ASCII only: an IRI must be percent-encoded. IP literals are checked loosely (brackets and
 * their allowed characters), the rest of the grammar exactly.
 */
const PCT = '%[0-9A-Fa-f]{2}';
const UNRESERVED_SUB = "A-Za-z0-9\\-._~!$&'()*+,;=";
const PCHAR = `(?:[${UNRESERVED_SUB}:@]|${PCT})`;
const PATH_REST = `(?:${PCHAR}|/)*`;
const QUERY_OR_FRAGMENT = `(?:${PCHAR}|[/?])*`;
const USERINFO = `(?:[${UNRESERVED_SUB}:]|${PCT})*`;
const REG_NAME = `(?:[${UNRESERVED_SUB}]|${PCT})*`;
const IP_LITERAL = `\\[[${UNRESERVED_SUB}:]+\\]`;
const AUTHORITY = `(?:${USERINFO}@)?(?:${IP_LITERAL}|${REG_NAME})(?::[0-9]*)?`;
const SCHEME = '[A-Za-z][A-Za-z0-9+\\-.]*';
const SEGMENT_NZ_NC = `(?:[${UNRESERVED_SUB}@]|${PCT})+`;
const TAIL = `(?:\\?${QUERY_OR_FRAGMENT})?(?:#${QUERY_OR_FRAGMENT})?`;
const URI = `${SCHEME}:(?://${AUTHORITY}(?:/${PATH_REST})?|${PATH_REST})${TAIL}`;
const RELATIVE = `(?://${AUTHORITY}(?:/${PATH_REST})?|/${PATH_REST}|${SEGMENT_NZ_NC}(?:/${PATH_REST})?|)${TAIL}`;

export const URI_REFERENCE = new RegExp(`^(?:${URI}|${RELATIVE})$`);

export function isUriReference(value: string): boolean {
  return URI_REFERENCE.test(value);
}
