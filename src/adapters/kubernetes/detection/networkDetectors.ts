import type { DetectorSet } from './detectionView.ts';

/** Services, Ingresses, NetworkPolicies and admission webhooks: configuration that points at nothing. */
export const networkDetectors: DetectorSet = { detectors: {} };
