import * as k8s from '@kubernetes/client-node';

/** The Content-Type a client-node patch call needs; its default is a JSON Patch, which none of ours is. */
export const PatchAs = {
  merge: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  strategic: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  json: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  apply: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
} as const;
