/**
 * Dedup: one anomaly per (signal, workload) while the problem lasts. The key is the SHA-256 of `dedupKeyInput`;
 * the application layer hashes (node:crypto stays out of domain/) and hands the hex digest in with the command.
 * There is no time in the key: a CrashLoopBackOff that goes on for an hour is one anomaly, not 120.
 */
export const DEDUP_TTL_MS = 2 * 60 * 60 * 1000;

/** Kubernetes names, kinds and snake_case signals cannot contain '|', so the join is unambiguous. */
export const dedupKeyInput = (signal: string, kind: string, name: string, namespace: string): string =>
  `${signal}|${kind}|${name}|${namespace}`;

export const isSha256Hex = (value: string): boolean => /^[0-9a-f]{64}$/.test(value);
