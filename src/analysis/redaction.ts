/**
 * Removes credentials from text before it leaves the process (a model provider, a log line, a CRD status). It
 * errs towards over-redacting: a lost word in an analysis costs little, a leaked password costs a rotation.
 * Every rule is idempotent, so text can be redacted again at each boundary it crosses.
 */

export const REDACTED = '[REDACTED]';

/** Words that make a name hold a secret wherever it appears as `name=value`, `name: value` or `"name": "value"`. */
const secretWord =
  '(?:passw(?:or)?d|passwd|passphrase|pwd|(?<![a-z])pass(?![a-z])|(?<![a-z])pw(?![a-z])|secret|token|api[_-]?key|apikey|access[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|master[_-]?key|private[_-]?key|(?<=[_.-])key(?![a-z])|credentials?|(?<![a-z])auth(?![a-z])|auth[_-]?key|session[_-]?key|signing[_-]?key|encryption[_-]?key|(?<![a-z])sig(?![a-z])|sharedaccesssignature|cookie|conn(?:ection)?[_-]?str(?:ing)?|dsn)';

/**
 * A whole name containing a secret word. The look-behind makes matching start only at the beginning of a name and
 * the bounds keep each attempt short, so a 50 KB base64 blob costs linear time, not quadratic.
 */
const secretName = `(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{0,48}?${secretWord}[A-Za-z0-9_.-]{0,48}`;

/** A value: quoted (to the closing quote) or bare (to whitespace or a separator). */
const valuePattern = `(?!\\[REDACTED)(?:"(?:[^"\\\\\\n]|\\\\.)*"|'[^'\\n]*'|[^\\s"',;&}\\[\\])]+)`;

/** `secretName: db-credentials` names a Secret rather than holding one; so do file paths and refs. */
const namesNotHolds = /(?:name|names|ref|path|file|hash|count|expir\w*|ttl)$/i;

// ---------------------------------------------------------------------------------------------------------------
// Environment values

/**
 * Names whose values the analysis context shows by default: they tune a runtime or say where it listens, and say
 * much about a crash (a heap limit in JAVA_OPTS, GOMEMLIMIT) without being credentials. `*` matches any run of
 * characters. Every other env value is replaced by `[REDACTED]`, whatever its name.
 */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = [
  'LOG_LEVEL',
  'LOG_FORMAT',
  'PORT',
  'NODE_ENV',
  'TZ',
  'LANG',
  'PATH',
  'HOME',
  'HOSTNAME',
  'GOMAXPROCS',
  'GOMEMLIMIT',
  'GOGC',
  'NODE_OPTIONS',
  'JAVA_OPTS',
  'JAVA_TOOL_OPTIONS',
  'RUST_LOG',
];

const namePatterns = new Map<readonly string[], RegExp>();

/** One anchored pattern for a list of names (with `*` wildcards), cached per list. */
const envNamePattern = (allowlist: readonly string[]): RegExp => {
  let pattern = namePatterns.get(allowlist);
  if (!pattern) {
    const alternatives = allowlist.map((name) =>
      name
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*'),
    );
    pattern = alternatives.length === 0 ? /(?!)/ : new RegExp(`^(?:${alternatives.join('|')})$`);
    namePatterns.set(allowlist, pattern);
  }
  return pattern;
};

/** What may be shown of an env entry's literal value: the value for allowlisted names, still searched for credentials. */
export const envValueShown = (name: string, value: string, allowlist: readonly string[] = DEFAULT_ENV_ALLOWLIST) =>
  envNamePattern(allowlist).test(name) ? redactSecrets(value) : REDACTED;

/** Checks an allowlist entry: an env var name, optionally with `*` wildcards. */
export const isEnvAllowlistEntry = (entry: string) => /^[A-Za-z_*][A-Za-z0-9_.*-]{0,127}$/.test(entry);

// ---------------------------------------------------------------------------------------------------------------
// Prose

const proseWord =
  'passw(?:or)?d|passwd|passphrase|pwd|secret|token|api[ _-]?key|access[ _-]?key|secret[ _-]?key|private[ _-]?key|credentials?';

const proseValue = `(?:"[^"\\n]{1,200}"|'[^'\\n]{1,200}'|[^\\s"',;)\\]}]{1,200})`;

/** Words that say something about a credential rather than being it ("token expired", "password is too short"). */
const describing = new Set(
  (
    'a an the is was are be been being not no none null nil undefined unset empty blank missing required invalid ' +
    'incorrect wrong expired revoked rejected malformed unknown mismatch mismatched stale weak short long too ' +
    'valid correct ok present absent available unavailable needed provided changed used set reset rotated ' +
    'for from in into on of to with by via and or but if when has have had does did must should will can cannot ' +
    'could would may might failed failure error authentication authorization verification validation check ' +
    'mount mounted found exists exist file files field fields value values key keys name names type data ' +
    'length policy request requests refresh renewal renewed generated stored saved loaded read written updated ' +
    'creation created deleted accepted denied granted hidden redacted masked omitted same different new old ' +
    'this that these those it its their here there now still'
  ).split(' '),
);

/** A Kubernetes object name, as "secret db-credentials" or `secret "db-credentials"` names a Secret. */
const objectName = /^["']?[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?["']?$/;

/** Whether `value`, after `word` and `connector`, is the credential itself. */
const proseHolds = (word: string, connector: string, value: string): boolean => {
  if (/^["']?\[REDACTED/.test(value)) return false;
  const bare = value.replace(/^["']|["']$/g, '');
  const plain = bare.replace(/[.!?]+$/, '');
  // A plain lowercase participle or adverb ("refreshed", "expiring", "successfully") describes; it is not a value.
  if (describing.has(plain.toLowerCase()) || /^[a-z]+(?:ed|ing|ly|able)$/.test(plain)) return false;
  const spaced = connector.trim() === '';
  if (!spaced) return true;
  // Only a space between: a credential looks like one (digits, symbols or mixed case), a word does not.
  if (/^secret$/i.test(word) && objectName.test(value)) return false;
  const quoted = bare !== value;
  if (quoted && /^(?:passw(?:or)?d|passwd|passphrase|pwd)$/i.test(word)) return true;
  return bare.length >= 3 && /[0-9!@#$%^&*+=~?]|[a-z][A-Z]/.test(bare);
};

// ---------------------------------------------------------------------------------------------------------------
// High-entropy runs

/** Shannon entropy in bits per character. */
const entropy = (text: string): number => {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
};

/** Share of the run made of word-like pieces (`Service`, `error`, `HTTP`): identifiers have many, keys few. */
const wordShare = (run: string): number => {
  let inWords = 0;
  for (const word of run.match(/[A-Z]?[a-z]{3,}|[A-Z]{4,}/g) ?? []) inWords += word.length;
  return inWords / run.length;
};

/**
 * What precedes a hex run and makes it public: an image or content digest (`sha256:`), a container ID
 * (`containerd://`), or a commit named as such. A digest says which image ran, which an analysis needs.
 */
const publicHexContext = /(?:sha(?:1|224|256|384|512):|:\/\/|\b(?:commit|revision|rev|sha)\b[\s:=#]{0,3})$/i;

const kindWord = /^[A-Z][a-z]+(?:[A-Z][a-z]+)*$/;

/**
 * `Pod/web-7d9f8b6c5d-x2k4q`, `shop/web-0`: a path of Kubernetes names, mixed case only in a kind. Base64 has
 * slashes too, but its segments mix cases at random.
 */
const isObjectPath = (run: string) =>
  run.includes('/') &&
  run.split('/').every((segment) => segment.length < 2 || kindWord.test(segment) || !/[A-Z]/.test(segment));

const isHex = (run: string) => /^[0-9a-f]+$/i.test(run) && /[0-9]/.test(run) && /[a-f]/i.test(run);

/** Hex of 32 digits or more (128 bits: a key, a token) unless it is a digest, a container ID or a commit. */
const randomHex = (run: string, before: string) =>
  run.length >= 32 && !publicHexContext.test(before) && entropy(run) >= 3;

/**
 * Whether a run of token characters is a credential: a long hex string (not a digest), a long single-case
 * alphanumeric string with many digits, or a mixed-case one with digits that is neither words nor an identifier.
 * Kubernetes names, UIDs and pod hashes are lowercase and cut by hyphens into short pieces, so they never qualify.
 */
const looksRandom = (match: string, preceding: string): boolean => {
  const lead = /^[/+_-]*/.exec(match)?.[0] ?? '';
  const run = match.slice(lead.length).replace(/=+$/, '');
  const before = `${preceding}${lead}`;
  if (isHex(run)) return randomHex(run, before);
  const hasUpper = /[A-Z]/.test(run);
  const hasLower = /[a-z]/.test(run);
  const digits = run.replace(/[^0-9]/g, '').length;
  if (hasUpper && hasLower && digits > 0 && !isObjectPath(run)) {
    const alnum = run.replace(/[^A-Za-z0-9]/g, '');
    // A 40-character run with a slash or plus inside is the shape of an AWS secret access key.
    const awsShape = run.length === 40 && /^[A-Za-z0-9/+]+$/.test(run) && /[/+]/.test(run.slice(1));
    return alnum.length >= 20 && entropy(run) >= 3.5 && wordShare(run) < (awsShape ? 0.65 : 0.4);
  }
  // One case of letters and digits (`k3j4h5…`, `Q2XW9…`): judged piece by piece, so names stay whole.
  return run.split(/[-_./+]/).some((piece) => {
    if (isHex(piece)) return randomHex(piece, before);
    if (piece.length < 24) return false;
    const share = piece.replace(/[^0-9]/g, '').length / piece.length;
    const switches = piece.match(/[0-9](?=[^0-9])|[^0-9](?=[0-9])/g)?.length ?? 0;
    return share >= 0.2 && share <= 0.8 && entropy(piece) >= 3.5 && switches >= piece.length * 0.2;
  });
};

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  readonly replace: (match: string, ...groups: string[]) => string;
}

const keepQuotes = (value: string) => {
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
  return `${quote}${REDACTED}${quote}`;
};

const pemBegin = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
/** The body of a block cut off before its END line: the lines right after BEGIN that are all base64. */
const pemBody = /[A-Za-z0-9+/=]*(?:(?:\r?\n|\\r?\\n)[A-Za-z0-9+/=]+(?=[\r\n"]|\\[rn]|$))*/y;

/**
 * Replaces PEM blocks (private keys, certificates) whole. A block cut off before its END line (a clipped log) ends
 * with its last all-base64 line, so the text after it survives; lines may be real or JSON-escaped (`\\n`), as in a
 * service-account key file. A label whose END is missing is remembered, so many BEGINs cost one scan, not one each.
 */
const redactPemBlocks = (text: string): string => {
  if (!text.includes('-----BEGIN ')) return text;
  const endless = new Set<string>();
  let out = '';
  let from = 0;
  pemBegin.lastIndex = 0;
  for (let match = pemBegin.exec(text); match; match = pemBegin.exec(text)) {
    const label = match[1] ?? '';
    const bodyStart = match.index + match[0].length;
    const endMarker = `-----END ${label}-----`;
    let end = -1;
    if (!endless.has(label)) {
      const at = text.indexOf(endMarker, bodyStart);
      if (at < 0) endless.add(label);
      else end = at + endMarker.length;
    }
    if (end < 0) {
      pemBody.lastIndex = bodyStart;
      pemBody.exec(text);
      end = Math.max(bodyStart, pemBody.lastIndex);
    }
    out += `${text.slice(from, match.index)}-----BEGIN ${label}----- ${REDACTED} -----END ${label}-----`;
    from = end;
    pemBegin.lastIndex = end;
  }
  return out + text.slice(from);
};

// Order matters: whole blocks and structured tokens first, so the generic `name=value` rule never sees half of one.
const rules: readonly Rule[] = [
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
    // Tokens whose prefix names their issuer: GitHub, GitLab, Slack (tokens and webhooks), OpenAI/Anthropic, Stripe,
    // Google (API keys and OAuth), npm, PyPI, Hugging Face, SendGrid, Twilio, DigitalOcean, Shopify, Docker Hub,
    // Vault, Grafana, Mailgun, age.
    name: 'vendor-token',
    pattern:
      /\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}|gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,255}|xox[abposre]-[A-Za-z0-9-]{10,255}|xapp-[A-Za-z0-9-]{10,255}|hooks\.slack\.com\/services\/[A-Za-z0-9/]{10,255}|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,255}|(?:[rs]k|pk|whsec)_(?:live|test)_[A-Za-z0-9]{16,255}|whsec_[A-Za-z0-9]{24,255}|AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,2048}|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{40,255}|hf_[A-Za-z0-9]{30,255}|SG\.[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{16,64}|SK[0-9a-fA-F]{32}|do[por]_v1_[a-f0-9]{64}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|dckr_pat_[A-Za-z0-9_-]{20,255}|hv[sbr]\.[A-Za-z0-9_-]{20,255}|gl(?:sa|c)_[A-Za-z0-9_+/=-]{20,255}|key-[0-9a-f]{32}|AGE-SECRET-KEY-1[0-9A-Z]{50,80})\b/g,
    replace: () => REDACTED,
  },
  {
    // "password": "x", password: x, PASSWORD=x, --db-password=x, ?password=x&...
    name: 'named-secret',
    pattern: new RegExp(`(["']?)(${secretName})\\1([ \\t]*[=:][ \\t]*)(${valuePattern})`, 'gi'),
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
    pattern: new RegExp(
      `((?<![A-Za-z0-9_.-])--[A-Za-z0-9_.-]{0,48}?${secretWord}[A-Za-z0-9_.-]{0,48})(\\s+)(?!-)(${valuePattern})`,
      'gi',
    ),
    replace: (_m, flag, space, value) =>
      `${flag}${space}${namesNotHolds.test(flag) ? redactSecrets(value) : keepQuotes(value)}`,
  },
  {
    // An environment dump (`env`, `set -x`, a crash handler printing its environment): one NAME=value per line. Any
    // value may be a credential whatever its name, so only the names of the built-in allowlist keep theirs.
    name: 'env-line',
    pattern: /^((?:export\s+)?([A-Z_][A-Z0-9_]{0,127})=)(.*)$/gm,
    replace: (_m, head, name, value) =>
      value === '' || value === REDACTED || envNamePattern(DEFAULT_ENV_ALLOWLIST).test(name)
        ? `${head}${value}`
        : `${head}${REDACTED}`,
  },
  {
    // Prose: "password hunter2", "the token is abc123", "api key: x", "password for admin was s3cret".
    name: 'prose-secret',
    pattern: new RegExp(
      `(?<![\\w./-])(${proseWord})(?![\\w-])((?:[ \\t]+(?:for|of)[ \\t]+[^\\s]{1,64})?[ \\t]+(?:is|was|=|:|set to|changed to|reset to|became|now)[ \\t]+|[ \\t]*[:=][ \\t]*|[ \\t]+)(${proseValue})`,
      'gi',
    ),
    replace: (match, word, connector, value) =>
      proseHolds(word, connector, value) ? `${word}${connector}${keepQuotes(value)}` : match,
  },
  {
    // Long random-looking runs: keys, tokens and base64 blobs that carry no name and no known prefix.
    name: 'high-entropy',
    pattern: /[A-Za-z0-9+/_-]{20,}={0,2}/g,
    // With no groups, the arguments after the match are its offset and the whole text (typed loosely by Rule).
    replace: (run, offset, text) => {
      const at = Number(offset);
      return looksRandom(run, String(text).slice(Math.max(0, at - 24), at)) ? REDACTED : run;
    },
  },
];

/** The text with every credential the rules recognise replaced by `[REDACTED]`. */
export const redactSecrets = (text: string): string => {
  let out = redactPemBlocks(text);
  for (const rule of rules)
    out = out.replace(rule.pattern, rule.replace as (match: string, ...rest: unknown[]) => string);
  return out;
};

const secretKey = new RegExp(secretWord, 'i');
/** A hex value under one of these keys is a commit, as it is in text after the word (see publicHexContext). */
const commitKey = /^(?:sha|commit|ref|revision)$/i;

/**
 * Redacts every string inside a JSON-like value (keys kept), for structured data that leaves the process; `redact`
 * replaces the rules when a caller adds its own (the values of a workload's Secrets).
 */
export const redactDeep = <T>(value: T, redact: (text: string) => string = redactSecrets): T => {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const holdsSecret = secretKey.test(key) && !namesNotHolds.test(key);
      out[key] =
        holdsSecret && typeof item === 'string'
          ? REDACTED
          : commitKey.test(key) && typeof item === 'string' && /^[0-9a-f]{7,64}$/.test(item)
            ? item
            : redactDeep(item, redact);
    }
    return out as T;
  }
  return value;
};

// ---------------------------------------------------------------------------------------------------------------
// Known values

/** Shorter values are too likely to be ordinary words or numbers ("true", "80") to be hunted in text. */
export const MIN_KNOWN_VALUE_LENGTH = 4;
/** Bounds the single pattern built from them; a workload referencing more is still covered by the other rules. */
const MAX_KNOWN_VALUES = 2_000;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces every occurrence of the given values (a workload's Secret data) with `[REDACTED]`, then applies the
 * rules. Values shorter than 8 characters match only as whole words, so a password "admin" does not eat
 * "administrator". Idempotent: a value that occurs inside the marker itself is never hunted.
 */
export const knownValuesRedactor = (values: Iterable<string>): ((text: string) => string) => {
  const unique = [...new Set(values)]
    .filter((v) => v.trim().length >= MIN_KNOWN_VALUE_LENGTH && !REDACTED.includes(v))
    .sort((a, b) => b.length - a.length)
    .slice(0, MAX_KNOWN_VALUES);
  if (unique.length === 0) return redactSecrets;
  const alternatives = unique.map((v) => {
    const escaped = escapeRegExp(v);
    if (v.length >= 8) return escaped;
    const start = /^[A-Za-z0-9]/.test(v) ? '(?<![A-Za-z0-9])' : '';
    const end = /[A-Za-z0-9]$/.test(v) ? '(?![A-Za-z0-9])' : '';
    return `${start}${escaped}${end}`;
  });
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => redactSecrets(text.replace(pattern, REDACTED));
};
