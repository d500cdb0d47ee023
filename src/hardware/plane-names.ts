import { ConfigError } from "../errors.js";

/**
 * A directory's plane files in z order: by signed value where the names differ in a number that
 * is negative in some and positive or unsigned in others (z-0002, z+0000, z+0002: natural order
 * would put every "+" before every "-" and the negatives backwards), else in natural name order
 * (z2 before z10; a "-" shared by every name is a separator, not a sign).
 */
export function planeOrder(names: readonly string[]): string[] {
  const natural = [...names].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  if (natural.length < 2) return natural;
  const a = natural[0];
  let start = 0;
  while (start < a.length && natural.every((n) => n[start] === a[start])) start++;
  while (start > 0 && /[\d.]/.test(a[start - 1])) start--;
  const values = natural.map((n) => /^([+-]?)(\d+(?:\.\d+)?)/.exec(n.slice(start)));
  if (values.some((v) => v === null)) return natural;
  const signs = new Set(values.map((v) => v![1]));
  if (!signs.has("-") || signs.size < 2) return natural;
  const z = new Map(natural.map((n, i) => [n, Number(values[i]![1] + values[i]![2])]));
  return natural.sort((p, q) => z.get(p)! - z.get(q)!);
}

/** The numbers in a file name, each with the sign before it ("z-2" is −2; a "-" separator makes each of a set of names' numbers negative alike, which leaves their differences as they are). */
function numbersIn(name: string): number[] {
  return [...name.matchAll(/[+-]?\d+(?:\.\d+)?/g)].map((m) => Number(m[0]));
}

/** A plane number that skips this many steps or fewer is a missing plane; larger jumps are some other numbering (a clock's minute rolling over). */
const MAX_MISSING_STEPS = 4;

/**
 * Refuses plane file names (in the order they will be imported) that would give planes the wrong
 * z, before anything is written:
 * - no number tells the files apart on its own (Micro-Manager's
 *   `img_channel000_position000_time000000000_z000.tif` for two channels: each z twice): several
 *   series, not one;
 * - the only numbers that tell them apart skip a value or a few, in a run of equal steps (z016,
 *   z018): a plane is missing, and every later plane would land one step off;
 * - with `listed` (files given one by one), an order other than their names' (`planeOrder`),
 *   ascending or descending: a shell glob sorts z10 before z2, and z-10.0um before z-2.0um.
 * Names that share no numbering are taken as they are.
 * @throws ConfigError naming the files concerned and what to do.
 */
export function checkPlaneNames(names: readonly string[], listed: boolean): void {
  if (names.length < 3) return;
  const numbers = names.map(numbersIn);
  if (numbers.some((n) => n.length !== numbers[0].length)) return;
  const varying = numbers[0].map((_, k) => numbers.map((n) => n[k])).filter((values) => new Set(values).size > 1);
  const unique = varying.filter((values) => new Set(values).size === values.length);
  if (varying.length > 0 && unique.length === 0)
    throw new ConfigError(
      `no number in the ${names.length} file names tells them apart on its own (${names[0]}, ${names[names.length - 1]}): they hold several series (channels, positions or time points), not one z-series. Import one series at a time: list its files, or move them to a directory of their own`,
    );
  const numberings = unique.map((values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { sorted, steps: sorted.slice(1).map((v, i) => v - sorted[i]) };
  });
  if (numberings.some(({ steps: d }) => d.every((x) => Math.abs(x - d[0]) <= 1e-6 * Math.abs(d[0])))) return checkListedOrder(names, listed);
  for (const { sorted, steps: d } of numberings) {
    const step = Math.min(...d);
    const multiples = d.map((x) => x / step);
    if (multiples.some((m) => Math.abs(m - Math.round(m)) > 1e-6 || Math.round(m) > MAX_MISSING_STEPS)) continue;
    const gaps = d.flatMap((x, i) => (Math.round(x / step) > 1 ? [`${sorted[i]} → ${sorted[i + 1]}`] : []));
    throw new ConfigError(
      `the files' plane numbers skip (${gaps.slice(0, 3).join(", ")}${gaps.length > 3 ? ", …" : ""}, in steps of ${step}): a plane is missing, and every plane after it would be given the z of the one before. Restore it, or import the planes on each side of the gap as stacks of their own`,
    );
  }
  checkListedOrder(names, listed);
}

/** With `listed`, refuses names not in `planeOrder`, ascending or descending (see checkPlaneNames). */
function checkListedOrder(names: readonly string[], listed: boolean): void {
  if (!listed) return;
  const ordered = planeOrder(names);
  const last = names.length - 1;
  if (ordered.every((n, i) => n === names[i]) || ordered.every((n, i) => n === names[last - i])) return;
  const ascending = ordered.indexOf(names[1]) > ordered.indexOf(names[0]);
  const i = names.findIndex((n, k) => k > 0 && ordered.indexOf(n) > ordered.indexOf(names[k - 1]) !== ascending);
  throw new ConfigError(
    `the files are not listed in the order of the numbers in their names (${names[i - 1]} then ${names[i]}; a shell glob sorts z10 before z2, and z-10 before z-2): give their directory instead, which is read in that order, or list them in plane order`,
  );
}
