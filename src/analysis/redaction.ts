/**
 * Removes credentials from text before it leaves the process (a model provider, a log line, a CRD status). It
 * errs towards over-redacting: a lost word in an analysis costs little, a leaked password costs a rotation.
 * Every rule is idempotent, so text can be redacted again at each boundary it crosses.
 */

export const REDACTED = '[REDACTED]';

/** Words that make a name hold a secret wherever it appears as `name=value`, `name: value` or `"name": "value"`. */
const secretWord =
  '(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key|session[_-]?key|signing[_-]?key|encryption[_-]?key|conn(?:ection)?[_-]?str(?:ing)?|dsn)';

/**
 * A whole name containing a secret word. The look-behind makes matching start only at the beginning of a name and
 * the bounds keep each attempt short, so a 50 KB base64 blob costs linear time, not quadratic.
 */
const secretName = `(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{0,48}?${secretWord}[A-Za-z0-9_.-]{0,48}`;

/** A value: quoted (to the closing quote) or bare (to whitespace or a separator). */
const valuePattern = `(?!\\[REDACTED)(?:"(?:[^"\\\\\\n]|\\\\.)*"|'[^'\\n]*'|[^\\s"',;&}\\])]+)`;

/** `secretName: db-credentials` names a Secret rather than holding one; so do file paths and refs. */
const namesNotHolds = /(?:name|names|ref|path|file|hash|count|expir\w*|ttl)$/i;

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  readonly replace: (match: string, ...groups: string[]) => string;
}

const keepQuotes = (value: string) => {
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
  return `${quote}${REDACTED}${quote}`;
};

// Order matters: whole blocks and structured tokens first, so the generic `name=value` rule never sees half of one.
const rules: readonly Rule[] = [
  {
    name: 'pem',
    pattern: /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(?:-----END \1-----|$)/g,
    replace: (_m, label) => `-----BEGIN ${label}----- ${REDACTED} -----END ${label}-----`,
  },
  {
    // scheme://user:password@host and scheme://:password@host (redis): keep the user and host, drop the secret.
    name: 'url-password',
    pattern: /\b([a-z][a-z0-9+.-]{0,30}:\/\/)([^\s:/@]{0,256}):([^\s@]{1,1024})@/gi,
    replace: (_m, scheme, user) => `${scheme}${user}:${REDACTED}@`,
  },
  {
    // https://<token>@github.com: a lone user part that looks like a token is the credential itself.
    name: 'url-token',
    pattern: /\b([a-z][a-z0-9+.-]{0,30}:\/\/)([A-Za-z0-9_-]{20,255})@/gi,
    replace: (_m, scheme) => `${scheme}${REDACTED}@`,
  },
  {
    name: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{5,8192}\.eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,8192}/g,
    replace: () => REDACTED,
  },
  {
    name: 'authorization',
    pattern: /\b(Bearer|Basic|Token|Digest)(\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/gi,
    replace: (_m, scheme, space) => `${scheme}${space}${REDACTED}`,
  },
  {
    name: 'aws-access-key-id',
    pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
    replace: () => REDACTED,
  },
  {
    // Provider tokens with a recognisable prefix: GitHub, GitLab, Slack, OpenAI/Anthropic, Stripe, Google, npm.
    name: 'vendor-token',
    pattern:
      /\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}|glpat-[A-Za-z0-9_-]{20,255}|xox[abprs]-[A-Za-z0-9-]{10,255}|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,255}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,255}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36})\b/g,
    replace: () => REDACTED,
  },
  {
    // "password": "x", password: x, PASSWORD=x, --db-password=x, ?password=x&...
    name: 'named-secret',
    pattern: new RegExp(`(["']?)(${secretName})\\1(\\s*[=:]\\s*)(${valuePattern})`, 'gi'),
    // A name that only names a secret keeps its value, but the value is still searched for credentials.
    replace: (_m, quote, name, separator, value) =>
      `${quote}${name}${quote}${separator}${namesNotHolds.test(name) ? redactSecrets(value) : keepQuotes(value)}`,
  },
  {
    // A Kubernetes env entry printed as YAML or JSON: the secret's name and its value sit in sibling fields
    // (`- name: DB_PASSWORD` / `value: x`, `{"name":"DB_PASSWORD","value":"x"}`), so the name=value rule misses it.
    name: 'env-entry',
    pattern: new RegExp(
      `(["']?name["']?\\s*:\\s*(["']?)(${secretName})\\2\\s*[,\\n]\\s*["']?value["']?\\s*:[ \\t]*)(${valuePattern})`,
      'gi',
    ),
    replace: (_m, head, _quote, name, value) =>
      `${head}${namesNotHolds.test(name) ? redactSecrets(value) : keepQuotes(value)}`,
  },
  {
    // Command-line flags with the value after a space: --password hunter2, --api-key abc.
    name: 'flag-secret',
    pattern: new RegExp(`(--[A-Za-z0-9_.-]{0,48}?${secretWord}[A-Za-z0-9_.-]{0,48})(\\s+)(?!-)(${valuePattern})`, 'gi'),
    replace: (_m, flag, space, value) =>
      `${flag}${space}${namesNotHolds.test(flag) ? redactSecrets(value) : keepQuotes(value)}`,
  },
];

/** The text with every credential the rules recognise replaced by `[REDACTED]`. */
export const redactSecrets = (text: string): string => {
  let out = text;
  for (const rule of rules)
    out = out.replace(rule.pattern, rule.replace as (match: string, ...rest: unknown[]) => string);
  return out;
};

const secretKey = new RegExp(secretWord, 'i');

/** Redacts every string inside a JSON-like value (keys kept), for structured data that leaves the process. */
export const redactDeep = <T>(value: T): T => {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const holdsSecret = secretKey.test(key) && !namesNotHolds.test(key);
      out[key] = holdsSecret && typeof item === 'string' ? REDACTED : redactDeep(item);
    }
    return out as T;
  }
  return value;
};
