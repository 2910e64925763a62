import { describe, expect, it } from 'vitest';
import { envCases, keepCases, knownValueCases, leakCases } from '../../test/fixtures/redaction.corpus.ts';
import {
  DEFAULT_ENV_ALLOWLIST,
  envValueShown,
  knownValuesRedactor,
  REDACTED,
  redactDeep,
  redactSecrets,
} from './redaction.ts';

// Each case plants a secret value inside realistic text; the test proves the value is gone and the rest stays.
const planted: readonly {
  readonly what: string;
  readonly text: string;
  readonly secret: string;
  readonly keeps?: string;
}[] = [
  {
    what: 'postgres URL',
    text: 'url: postgres://app:Sup3rS3cret@db.prod:5432/shop',
    secret: 'Sup3rS3cret',
    keeps: 'db.prod:5432/shop',
  },
  {
    what: 'postgresql URL in a log line',
    text: 'connecting to postgresql://admin:pa55w0rd@10.0.0.5/app failed',
    secret: 'pa55w0rd',
    keeps: 'failed',
  },
  {
    what: 'mongodb+srv URL',
    text: 'mongodb+srv://reader:m0ng0-Pass@cluster0.abcde.mongodb.net/test?retryWrites=true',
    secret: 'm0ng0-Pass',
    keeps: 'cluster0.abcde.mongodb.net',
  },
  {
    what: 'redis URL with only a password',
    text: 'using redis://:r3d1sPW@cache:6379/0',
    secret: 'r3d1sPW',
    keeps: 'cache:6379',
  },
  { what: 'amqp URL', text: 'amqp://guest:rabbitPW42@mq:5672/', secret: 'rabbitPW42' },
  {
    what: 'token as URL user',
    text: 'git clone https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/org/repo',
    secret: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  },
  {
    what: 'bearer header',
    text: 'Authorization: Bearer abc123def456ghi789jkl',
    secret: 'abc123def456ghi789jkl',
    keeps: 'Authorization',
  },
  {
    what: 'basic header',
    text: 'curl -H "Authorization: Basic dXNlcjpodW50ZXIy" http://svc',
    secret: 'dXNlcjpodW50ZXIy',
    keeps: 'http://svc',
  },
  { what: 'AWS access key id', text: 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', secret: 'AKIAIOSFODNN7EXAMPLE' },
  {
    what: 'AWS key id in prose',
    text: 'the key AKIAZ3MHALXY5EXAMPLE was rejected',
    secret: 'AKIAZ3MHALXY5EXAMPLE',
    keeps: 'was rejected',
  },
  {
    what: 'AWS secret key',
    text: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  },
  {
    what: 'JWT',
    text: 'token rejected: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c expired',
    secret: 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    keeps: 'expired',
  },
  {
    what: 'PEM private key',
    text: 'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98s7Ksecretbody\nAnotherLineOfKeyMaterial==\n-----END RSA PRIVATE KEY-----\nafter',
    secret: 'MIIEowIBAAKCAQEA7bq98s7Ksecretbody',
    keeps: 'after',
  },
  {
    what: 'PEM block cut off before its END line',
    text: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC',
    secret: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC',
  },
  {
    what: 'env password',
    text: 'env: DB_PASSWORD=hunter2 LOG_LEVEL=debug',
    secret: 'hunter2',
    keeps: 'LOG_LEVEL=debug',
  },
  {
    what: 'secret behind a name that only names one',
    text: 'passwordFile=/run/pw:password=hunter3',
    secret: 'hunter3',
  },
  { what: 'quoted env password', text: 'PGPASSWORD="correct horse battery"', secret: 'correct horse battery' },
  {
    what: 'password flag with =',
    text: 'command: app --db-password=Tr0ub4dor --port 8080',
    secret: 'Tr0ub4dor',
    keeps: '--port 8080',
  },
  {
    what: 'password flag with a space',
    text: 'command: mysql --password s3kr1t -h db',
    secret: 's3kr1t',
    keeps: '-h db',
  },
  { what: 'api key flag', text: 'args: --api-key abcdef0123456789', secret: 'abcdef0123456789' },
  {
    what: 'JSON secret field',
    text: '{"user":"bob","password":"p@ss:w0rd","client_secret":"cs-9f8e7d"}',
    secret: 'p@ss:w0rd',
    keeps: '"user":"bob"',
  },
  { what: 'JSON client secret', text: '{"client_secret":"cs-9f8e7d6c5b"}', secret: 'cs-9f8e7d6c5b' },
  {
    what: 'YAML token',
    text: 'auth:\n  token: tkn_live_5566778899\n  user: bob',
    secret: 'tkn_live_5566778899',
    keeps: 'user: bob',
  },
  {
    what: 'query string secret',
    text: 'GET /callback?code=1&access_token=qwertyuiop1234&state=x',
    secret: 'qwertyuiop1234',
    keeps: 'state=x',
  },
  {
    what: 'ADO.NET connection string',
    text: 'Server=db;User Id=sa;Password=Pa55word!;Database=shop',
    secret: 'Pa55word!',
    keeps: 'Database=shop',
  },
  {
    what: 'env entry as YAML',
    text: 'env:\n- name: DB_PASSWORD\n  value: YamlPw42\n- name: LOG_LEVEL\n  value: debug',
    secret: 'YamlPw42',
    keeps: 'value: debug',
  },
  {
    what: 'env entry as JSON',
    text: '[{"name":"ADMIN_PASSWORD","value":"JsonPw43"},{"name":"PORT","value":"8080"}]',
    secret: 'JsonPw43',
    keeps: '"value":"8080"',
  },
  { what: 'Slack token', text: 'SLACK=xoxb-123456789012-abcdefghijkl', secret: 'xoxb-123456789012-abcdefghijkl' },
  {
    what: 'OpenAI-style key in prose',
    text: 'using sk-proj-abcdefghijklmnopqrstuvwx for calls',
    secret: 'sk-proj-abcdefghijklmnopqrstuvwx',
    keeps: 'for calls',
  },
  {
    what: 'GitHub token in prose',
    text: 'export GH=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
    secret: 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
  },
];

describe('redactSecrets', () => {
  for (const { what, text, secret, keeps } of planted) {
    it(`removes a ${what}`, () => {
      const out = redactSecrets(text);
      expect(out).not.toContain(secret);
      expect(out).toContain(REDACTED);
      if (keeps) expect(out).toContain(keeps);
    });
  }

  it('leaves no planted secret in one document that holds them all', () => {
    const document = planted.map((p) => p.text).join('\n');
    const out = redactSecrets(document);
    for (const { secret } of planted) expect(out).not.toContain(secret);
  });

  it('is idempotent, so every boundary can redact again', () => {
    for (const { text } of planted) {
      const once = redactSecrets(text);
      expect(redactSecrets(once)).toBe(once);
    }
  });

  it('keeps what an analysis needs: images, names of Secrets, reasons, URLs without credentials', () => {
    const text = [
      'image registry.local/shop/web:1.0.0-broken',
      'env DB_PASSWORD=<secret db-credentials/password>',
      'secretName: db-credentials',
      'Back-off restarting failed container (x12)',
      'GET https://api.example.com/v1/orders?page=2',
      'token expired for user bob',
    ].join('\n');
    const out = redactSecrets(text);
    expect(out).toContain('registry.local/shop/web:1.0.0-broken');
    expect(out).toContain('secretName: db-credentials');
    expect(out).toContain('https://api.example.com/v1/orders?page=2');
    expect(out).toContain('Back-off restarting failed container');
    expect(out).toContain('token expired for user bob');
  });
});

describe('redactDeep', () => {
  it('redacts strings at any depth and the values of secret-named keys', () => {
    const out = redactDeep({
      password: 'plain-value',
      nested: { url: 'postgres://u:deepSecret@h/db', list: ['Bearer abcdefghijklmnop'] },
      secretName: 'db-credentials',
      count: 3,
    });
    expect(JSON.stringify(out)).not.toMatch(/plain-value|deepSecret|abcdefghijklmnop/);
    expect(out.secretName).toBe('db-credentials');
    expect(out.count).toBe(3);
  });
});

describe('the redaction corpus', () => {
  it('holds at least 50 cases, leaks and keeps both', () => {
    const size = leakCases.length + keepCases.length + envCases.length + knownValueCases.length;
    expect(size).toBeGreaterThanOrEqual(50);
    expect(keepCases.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of leakCases) {
    it(`removes ${c.what}`, () => {
      const out = redactSecrets(c.text);
      for (const secret of c.secrets) expect(out).not.toContain(secret);
      for (const kept of c.keeps ?? []) expect(out).toContain(kept);
      expect(redactSecrets(out)).toBe(out);
    });
  }

  for (const c of keepCases) {
    it(`keeps ${c.what} word for word`, () => {
      expect(redactSecrets(c.text)).toBe(c.text);
    });
  }

  for (const c of envCases) {
    it(`${c.shown ? 'shows' : 'withholds'} the env value of ${c.what}`, () => {
      const shown = envValueShown(c.name, c.value);
      if (c.shown) expect(shown).toBe(c.value);
      else expect(shown).not.toContain(c.value.split('=').pop());
    });
  }

  for (const c of knownValueCases) {
    it(`removes ${c.what} once the value is known, and not before`, () => {
      expect(redactSecrets(c.text)).toContain(c.value);
      const redact = knownValuesRedactor([c.value]);
      const out = redact(c.text);
      expect(out).not.toContain(c.value);
      for (const kept of c.keeps ?? []) expect(out).toContain(kept);
      expect(redact(out)).toBe(out);
    });
  }

  it('leaves no planted secret in one document that holds every case', () => {
    const document = [...leakCases, ...keepCases].map((c) => c.text).join('\n');
    const out = redactSecrets(document);
    for (const c of leakCases) for (const secret of c.secrets) expect(out).not.toContain(secret);
    for (const c of keepCases) expect(out).toContain(c.text);
  });
});

describe('env values', () => {
  it('are withheld under any name off the allowlist, and an allowlist may use wildcards', () => {
    expect(envValueShown('DB_PASS', 'x1')).toBe(REDACTED);
    expect(envValueShown('FEATURE_FLAGS', 'a,b')).toBe(REDACTED);
    expect(envValueShown('FEATURE_FLAGS', 'a,b', [...DEFAULT_ENV_ALLOWLIST, 'FEATURE_*'])).toBe('a,b');
    expect(envValueShown('LOG_LEVEL', 'debug', [])).toBe(REDACTED);
  });

  it('an allowlisted value that holds a credential is still redacted', () => {
    expect(envValueShown('PORT', 'postgres://u:PortPw9@db/x')).not.toContain('PortPw9');
    expect(envValueShown('JAVA_OPTS', '-Xmx512m -Dapp.token=Tk9x')).toBe('-Xmx512m -Dapp.token=[REDACTED]');
  });
});

describe('known values', () => {
  it('match short values only as whole words and long ones anywhere', () => {
    const redact = knownValuesRedactor(['admin', 'Xq9Lm2Pz7Kt4', 'abc']);
    expect(redact('administrator admin')).toBe(`administrator ${REDACTED}`);
    expect(redact('prefixXq9Lm2Pz7Kt4suffix')).toBe(`prefix${REDACTED}suffix`);
    // Three characters are too few to hunt: "abc" stays.
    expect(redact('abc')).toBe('abc');
  });

  it('never hunt a value the marker itself contains, so redacting twice changes nothing', () => {
    const redact = knownValuesRedactor(['REDACTED', 'DACT', 'hunter22']);
    const once = redact('pw hunter22 REDACTED');
    expect(once).not.toContain('hunter22');
    expect(redact(once)).toBe(once);
  });

  it('run in linear time over a large log with many values', () => {
    const values = Array.from({ length: 500 }, (_, i) => `value-${i}-${'k'.repeat(8)}`);
    const redact = knownValuesRedactor(values);
    const log = `${'INFO nothing to see here 12345 '.repeat(20_000)}value-499-kkkkkkkk`;
    const out = redact(log);
    expect(out.endsWith(REDACTED)).toBe(true);
  });
});

describe('redaction of large input', () => {
  // Each input is a near miss repeated, the shape that makes a backtracking pattern quadratic; the test's own
  // timeout is the bound, so a regression shows as a hung test rather than as a flaky figure.
  const nearMisses = [
    'x'.repeat(300_000),
    'aB3'.repeat(100_000),
    'password '.repeat(40_000),
    'token is '.repeat(40_000),
    '-----BEGIN PRIVATE KEY-----\n'.repeat(10_000),
    'eyJhbGciOi.'.repeat(30_000),
    'postgres://'.repeat(30_000),
    `A_B=${'c'.repeat(100)}\n`.repeat(3_000),
    '-'.repeat(300_000),
    'secret "db-credentials" '.repeat(15_000),
  ];

  for (const text of nearMisses) {
    it(`finishes on ${JSON.stringify(text.slice(0, 24))}… (${text.length} characters)`, () => {
      const out = redactSecrets(text);
      expect(redactSecrets(out)).toBe(out);
    });
  }

  it('replaces a 1 MB base64 blob inside a log line with one marker', () => {
    const blob = Buffer.from(Array.from({ length: 786_432 }, (_, i) => (i * 7919 + (i >> 8)) % 256)).toString('base64');
    const out = redactSecrets(`INFO payload=${blob} end`);
    expect(out).toBe(`INFO payload=${REDACTED} end`);
  });
});
