import type { DetectorSet } from './detectionView.ts';

/** PersistentVolumeClaims, autoscaler targets and CronJob schedules. */
export const storageDetectors: DetectorSet = { detectors: {} };
