import type { FactMeta } from './facts';

/**
 * The total order of facts (rules.md, "Order never matters"): by `time`, then `source`, then `id`,
 * strings in UTF-8 byte order. Two metas that compare equal identify the same event.
 */

/**
 * Compares two strings in the order of their UTF-8 encodings (= Unicode code point order), without
 * encoding them.
 *
 * JavaScript's `<` compares UTF-16 code units, which agrees with code point order except when one
 * string has a surrogate (a code point ≥ U+10000) where the other has a code unit in
 * U+E000–U+FFFF: UTF-16 puts the surrogate first, UTF-8 puts it last. So at the first differing
 * code unit both units are remapped (surrogates D800–DFFF up to F800–FFFF, E000–FFFF down to
 * D800–F7FF), the classic "UTF-16 in code point order" fix-up. In well-formed strings the first
 * difference is at the same code point boundary in both strings, so this equals
 * `Buffer.compare(Buffer.from(a), Buffer.from(b))`. Lone surrogates have no UTF-8 encoding
 * (Buffer.from would turn them all into U+FFFD and make different strings equal); here they still
 * get a deterministic total order.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

/**
 * Fact order. `time` is canonical (ASCII, fixed width, see facts.ts), so code-unit order is byte
 * order and instant order for it; `source` and `id` are arbitrary strings and go through
 * `compareUtf8`.
 */
export function factOrder(a: FactMeta, b: FactMeta): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return compareUtf8(a.source, b.source) || compareUtf8(a.id, b.id);
}

interface HasMeta {
  meta: FactMeta;
}

/** Compares two facts by their metas. */
export const byFactOrder = (a: HasMeta, b: HasMeta): number => factOrder(a.meta, b.meta);

/**
 * The identity of an event: (source, id). JSON of the pair is injective (unlike a joined string,
 * which "a:b" + "c" and "a" + "b:c" would confuse).
 */
export function factKey(meta: FactMeta): string {
  return JSON.stringify([meta.source, meta.id]);
}

/** Same event (source and id), i.e. one is a duplicate of the other. */
export function sameEvent(a: FactMeta, b: FactMeta): boolean {
  return a.source === b.source && a.id === b.id;
}

/** Drops duplicates (same source+id), keeping the first occurrence. Order is otherwise kept. */
export function dedupeFacts<T extends HasMeta>(facts: Iterable<T>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const f of facts) {
    const k = factKey(f.meta);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(f);
    }
  }
  return out;
}

/** Distinct facts (by source+id) in fact order, first to latest. Never mutates its input. */
export function sortFacts<T extends HasMeta>(facts: Iterable<T>): T[] {
  return dedupeFacts(facts).sort(byFactOrder);
}

/** The latest fact, or undefined when there is none. Duplicates are harmless here. */
export function latest<T extends HasMeta>(facts: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const f of facts) if (best === undefined || factOrder(f.meta, best.meta) > 0) best = f;
  return best;
}

/** The first fact, or undefined when there is none. */
export function earliest<T extends HasMeta>(facts: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const f of facts) if (best === undefined || factOrder(f.meta, best.meta) < 0) best = f;
  return best;
}

/** The latest fact of each register (latest-wins), keyed by `keyOf`. */
export function latestBy<T extends HasMeta, K>(facts: Iterable<T>, keyOf: (f: T) => K): Map<K, T> {
  const out = new Map<K, T>();
  for (const f of facts) {
    const k = keyOf(f);
    const cur = out.get(k);
    if (cur === undefined || factOrder(f.meta, cur.meta) > 0) out.set(k, f);
  }
  return out;
}
