/** Prints a Markdown table (the format docs/benchmarks.md keeps). */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const escape = (c: string) => c.replace(/\|/g, "\\|");
  const cells = rows.map((r) => r.map((c) => escape(typeof c === "number" ? formatNumber(c) : c)));
  process.stdout.write(`\n### ${title}\n\n| ${header.map(escape).join(" | ")} |\n|${header.map(() => "---").join("|")}|\n`);
  for (const r of cells) process.stdout.write(`| ${r.join(" | ")} |\n`);
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
export const sd = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
