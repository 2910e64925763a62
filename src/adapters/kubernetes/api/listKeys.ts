/**
 * The API server refuses a server-side apply whose `set` or `map` list repeats a key (answering 500, every time),
 * so a document that would repeat one must never leave Cairn. Walks the kind's schema beside the document and keeps
 * one entry per key: the first place a key appears, with its last value, so a later status entry wins.
 */
interface SchemaNode {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly 'x-kubernetes-list-type'?: string;
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const keyOf = (item: unknown, node: SchemaNode): string => {
  const fields = node['x-kubernetes-list-map-keys'];
  if (node['x-kubernetes-list-type'] === 'map' && fields && isObject(item)) {
    return JSON.stringify(fields.map((field) => item[field] ?? null));
  }
  return JSON.stringify(item);
};

export function withUniqueListKeys<T>(schema: object, value: T): T {
  return unique(schema as SchemaNode, value) as T;
}

function unique(node: SchemaNode, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = node.items ? value.map((item) => unique(node.items!, item)) : value;
    const listType = node['x-kubernetes-list-type'];
    if (listType !== 'set' && listType !== 'map') return items;
    const byKey = new Map<string, unknown>();
    for (const item of items) byKey.set(keyOf(item, node), item);
    return byKey.size === items.length ? items : [...byKey.values()];
  }
  if (!isObject(value)) return value;
  const extra = isObject(node.additionalProperties) ? (node.additionalProperties as SchemaNode) : undefined;
  return Object.fromEntries(
    Object.entries(value).map(([name, field]) => {
      const child = node.properties && Object.hasOwn(node.properties, name) ? node.properties[name] : extra;
      return [name, child ? unique(child, field) : field];
    }),
  );
}
