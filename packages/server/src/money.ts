/**
 * Money at the API edge: sums of float dollars pick up binary noise (0.08610000000000001), so
 * every amount the API returns is rounded to micro-dollars, far below any real price step.
 */
export const USD_DECIMALS = 6;

export function roundUsd(value: number): number {
  return Number(value.toFixed(USD_DECIMALS));
}
