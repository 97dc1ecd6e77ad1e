/** Rows as aligned text columns, two spaces apart: the columns in `leftAligned` padded on the right, the rest on the left. */
export function alignColumns(rows: readonly (readonly string[])[], leftAligned: readonly number[]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => row[c]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, c) => (leftAligned.includes(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}
