import { ActionFieldManager, type ActionParams, AnyKind } from './action.ts';
import { illegalState, invalidParam, kube, missing, readOptional, unsafe } from './actionErrors.ts';
import { defineAction, quantityParam, requiredName } from './actionParams.ts';
import { PatchAs } from './patchOptions.ts';
import { compareQuantities } from './quantity.ts';

const resize = (params: ActionParams) => {
  const size = quantityParam(params, 'size');
  if (size === undefined) throw invalidParam('size', 'is required');
  return { pvc: requiredName(params, 'pvc'), size };
};

export const resizePvc = defineAction({
  type: 'ResizePVC',
  targetKinds: [AnyKind],
  destructive: true,
  describe:
    'Grows a PersistentVolumeClaim to a larger size (never shrinks; its StorageClass must allow expansion). ' +
    'Irreversible: a volume cannot be made smaller again.',
  params: {
    pvc: { description: 'the PersistentVolumeClaim', required: true },
    size: { description: 'the new requested size, larger than the current one (e.g. 20Gi)', required: true },
  },
  validate: (params) => void resize(params),
  async execute({ clients, target, params }) {
    const { pvc: name, size } = resize(params);
    const { namespace } = target;
    const claim = await readOptional(`reading PersistentVolumeClaim ${namespace}/${name}`, () =>
      clients.core.readNamespacedPersistentVolumeClaim({ name, namespace }),
    );
    if (!claim) throw missing('pvc', `there is no PersistentVolumeClaim ${namespace}/${name}`);
    const current = claim.spec?.resources?.requests?.storage;
    if (current === undefined)
      throw illegalState(`PersistentVolumeClaim ${namespace}/${name} requests no storage size`);
    const order = compareQuantities(size, current);
    if (order < 0) throw unsafe('size', `${size} is smaller than the current ${current}: volumes never shrink`);
    if (order === 0)
      return { detail: `PersistentVolumeClaim ${namespace}/${name} already requests ${current}`, touched: [] };
    if (claim.status?.phase !== 'Bound') {
      throw illegalState(
        `PersistentVolumeClaim ${namespace}/${name} is ${claim.status?.phase ?? 'not bound'}: only a bound claim can grow`,
      );
    }
    const className = claim.spec?.storageClassName;
    if (className) {
      const storageClass = await readOptional(`reading StorageClass ${className}`, () =>
        clients.storage.readStorageClass({ name: className }),
      );
      if (storageClass && !storageClass.allowVolumeExpansion) {
        throw illegalState(`StorageClass ${className} does not allow volume expansion`);
      }
    }
    await kube(`resizing PersistentVolumeClaim ${namespace}/${name}`, () =>
      clients.core.patchNamespacedPersistentVolumeClaim(
        {
          name,
          namespace,
          body: { spec: { resources: { requests: { storage: size } } } },
          fieldManager: ActionFieldManager,
        },
        PatchAs.merge,
      ),
    );
    return {
      detail: `PersistentVolumeClaim ${namespace}/${name}: requested storage ${current} → ${size}`,
      touched: [{ kind: 'PersistentVolumeClaim', name, namespace }],
    };
  },
});

export const storageActions = [resizePvc] as const;
