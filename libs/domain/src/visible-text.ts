/**
 * Characters that render as nothing: white space, Default_Ignorable_Code_Point (zero-width
 * space and joiners, word joiner, soft hyphen, variation selectors, Hangul fillers, tags) and
 * the other format characters (bidi controls, U+FEFF). A name made only of these would show as
 * blank, so it counts as empty (rules.md: "real_name if non-empty, else username").
 */
const INVISIBLE = /[\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cf}\p{Cc}]/gu;

/** Whether `s` holds at least one character that is not invisible. */
export function hasVisibleText(s: string | null | undefined): s is string {
  return typeof s === 'string' && s.replace(INVISIBLE, '') !== '';
}
