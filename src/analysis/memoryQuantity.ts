/** Memory quantities as Kubernetes writes them, so the rules can reason about limits numerically. */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const suffixes = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: KiB,
  Mi: MiB,
  Gi: GiB,
  Ti: 1024 * GiB,
  Pi: 1024 * 1024 * GiB,
  Ei: 1024 * 1024 * 1024 * GiB,
} as const satisfies Record<string, number>;

const quantityPattern = /^(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[mkKMGTPE]))?$/;

/** Bytes of a quantity such as `128Mi`, `1.5Gi`, `500M` or `1e9`; undefined for anything else. */
export const parseMemoryBytes = (quantity: string | undefined): number | undefined => {
  if (quantity === undefined) return undefined;
  const match = quantityPattern.exec(quantity.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  if (match[2]) return value * 10 ** Number(match[2].slice(1));
  const factor = suffixes[(match[3] ?? '') as keyof typeof suffixes];
  return value * factor;
};

/**
 * The smallest whole `Gi` or `Mi` quantity holding at least `bytes`: rounding up, because a limit rounded down
 * could fall back under the working set that caused the OOM kill.
 */
export const formatMemoryBytes = (bytes: number): string => {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB}Gi`;
  return `${Math.max(1, Math.ceil(bytes / MiB))}Mi`;
};
