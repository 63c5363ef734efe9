// Geometry for the small SVG charts.

/** The smallest 1, 2 or 5 × 10^n that is at least `v` (1 for nothing). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** `n` + 1 evenly spaced tick values from 0 to max. */
export function ticks(max, n = 4) {
  return Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
}

/**
 * An axis for data up to `dataMax`: a round step (1, 2 or 5 × 10^n, whole
 * numbers when `integer`), about four intervals, the top a multiple of it.
 */
export function axis(dataMax, { integer = false } = {}) {
  let step = niceMax(dataMax > 0 ? dataMax / 4 : 0.25);
  if (dataMax <= 0) step = 1;
  if (integer) step = Math.max(1, Math.round(step));
  const n = Math.max(1, Math.ceil(dataMax / step - 1e-9));
  const max = n * step;
  return { max, step, ticks: Array.from({ length: n + 1 }, (_, i) => Number((i * step).toPrecision(12))) };
}

/** Bar rectangles for `values` in a plot area of width × height. */
export function bars(values, width, height, max = niceMax(Math.max(0, ...values))) {
  const n = values.length || 1;
  const slot = width / n;
  const w = Math.max(1, slot * 0.7);
  return values.map((v, i) => {
    const h = max > 0 ? (Math.max(0, v) / max) * height : 0;
    return { x: i * slot + (slot - w) / 2, y: height - h, w, h, cx: i * slot + slot / 2 };
  });
}

/** An SVG polyline "x,y x,y" through `values` (nulls skipped) at the bar centres. */
export function linePoints(values, width, height, max) {
  const n = values.length || 1;
  const slot = width / n;
  return values
    .map((v, i) => (typeof v === 'number' && max > 0 ? `${(i * slot + slot / 2).toFixed(1)},${(height - (v / max) * height).toFixed(1)}` : null))
    .filter(Boolean)
    .join(' ');
}
