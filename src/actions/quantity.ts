/**
 * Kubernetes resource quantities (`500m`, `1.5`, `256Mi`, `1e3`, `2G`) as numbers of base units (cores or bytes),
 * precise enough to compare a limit with a request. Parsing is strict: an AI that writes `512MB` is told so.
 */
const suffixes = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
} as const;

const pattern = /^(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The value in base units, or undefined when `text` is not a valid non-negative quantity. */
export const parseQuantity = (text: string): number | undefined => {
  const match = pattern.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  if (match[3] !== undefined) return value * 10 ** Number(match[3]);
  return value * suffixes[(match[2] ?? '') as keyof typeof suffixes];
};

export const isQuantity = (text: string): boolean => parseQuantity(text) !== undefined;

/** -1, 0 or 1, like a comparator; both must be valid quantities. */
export const compareQuantities = (a: string, b: string): number => {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) throw new Error(`not a quantity: ${x === undefined ? a : b}`);
  // Relative tolerance: 1Gi and 1073741824 are the same amount even after floating-point scaling.
  if (Math.abs(x - y) <= Math.max(Math.abs(x), Math.abs(y)) * 1e-12) return 0;
  return x < y ? -1 : 1;
};
