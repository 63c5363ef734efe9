// CSV export (RFC 4180, CRLF), safe to open in spreadsheets.

function cell(v) {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  // A leading = + - @ would run as a formula in a spreadsheet.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * @param {Array<Record<string, unknown>>} rows
 * @param {Array<{ key: string, label?: string }>} columns
 */
export function toCsv(rows, columns) {
  const lines = [columns.map((c) => cell(c.label ?? c.key)).join(',')];
  for (const r of rows || []) lines.push(columns.map((c) => cell(r?.[c.key])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Offers `text` as a file download (browser only). */
export function downloadText(filename, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
