import { Type } from '@sinclair/typebox';

/** Shapes shared by several routes' responses. */
export const ResourceRefSchema = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  namespace: Type.String({ description: 'Empty for cluster-scoped kinds (Node).' }),
});

export const IssueLinkSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String({ description: 'The Issue object, in the namespace of the workload.' }),
  },
  { description: 'The Issue the anomaly opened or joined.' },
);
