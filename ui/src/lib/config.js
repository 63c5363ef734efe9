// Settings as the server describes them (GET /api/config/schema, from
// levity's one settings table): which page shows which, and their text.

/** The rows a page shows as plain fields (`shown`: proxy or log). */
export function fieldsOn(schema, page) {
  return (schema ?? []).filter((row) => row.shown === page);
}

/** The row of `key`, if the schema has loaded. */
export function rowOf(schema, key) {
  return (schema ?? []).find((row) => row.key === key);
}

/** A row's label or help in `lang`, English where a language lacks it. */
export function textOf(row, field, lang) {
  const text = row?.[field];
  return text?.[lang] || text?.en || '';
}

/** The words a choice setting takes (the scheduling modes, ...). */
export function choicesOf(schema, key) {
  return rowOf(schema, key)?.choices ?? [];
}

/** "a|b| c" → ["a", "b", "c"]: background markers, one phrase per line in the editor. */
export function splitMarkers(value) {
  return String(value ?? '')
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Lines of the marker editor back to the stored `|`-separated form. */
export function joinMarkers(text) {
  return String(text ?? '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join('|');
}
