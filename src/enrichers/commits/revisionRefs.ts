/**
 * What a pod template says about the source it was built from, in the order Cairn trusts it: a commit annotation
 * (`cairn.dev/commit`), the image tags (a tag that is a commit sha, holds one as `main-1a2b3c4` or `v1.2-g1a2b3c4`,
 * or is a git tag), the Helm chart version (`helm.sh/chart: web-1.4.0`). Pure.
 */
export const CommitAnnotation = 'cairn.dev/commit';
export const HelmChartLabel = 'helm.sh/chart';

export interface TemplateLike {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly images: readonly string[];
}

export interface RevisionRef {
  /** A candidate to resolve in the repository: a sha (prefix) or a tag. */
  readonly ref: string;
  /** Where it came from, as a person reads it. */
  readonly from: string;
}

/** The tag of an image reference; none for a digest-only reference. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const name = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  return colon < 0 ? undefined : name.slice(colon + 1) || undefined;
}

const shaToken = /^g?([0-9a-f]{7,40})$/;

/** The chart name and version of a `helm.sh/chart` label (`web-api-1.4.0` → web-api, 1.4.0). */
export function chartOf(label: string | undefined): { name: string; version: string } | undefined {
  const m = label ? /^(.+)-(v?\d+\.\d+\.\d+[-+.\w]*)$/.exec(label) : null;
  return m ? { name: m[1]!, version: m[2]! } : undefined;
}

export function revisionRefs(template: TemplateLike): RevisionRef[] {
  const refs: RevisionRef[] = [];
  const add = (ref: string, from: string) => {
    if (!refs.some((r) => r.ref === ref)) refs.push({ ref, from });
  };
  const annotated = template.annotations?.[CommitAnnotation]?.trim();
  if (annotated) add(annotated, `the ${CommitAnnotation} annotation`);
  for (const image of template.images) {
    const tag = imageTag(image);
    if (!tag || tag === 'latest') continue;
    // Named without its tag: the tag is the ref itself, and a sha in a sentence reads as a token to redaction.
    const base = image.split('@')[0]!;
    const name = base.slice(0, base.length - tag.length - 1);
    add(tag, `the image tag of ${name}`);
    for (const token of tag.split(/[-_.+]/)) {
      const m = shaToken.exec(token);
      // A token of digits only is a version number far more often than a sha.
      if (m && /[a-f]/.test(m[1]!)) add(m[1]!, `the commit in the image tag of ${name}`);
    }
  }
  return refs;
}
