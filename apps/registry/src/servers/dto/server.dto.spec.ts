import { CreateServerBodySchema, UpdateServerBodySchema, UpstreamUrlSchema } from './server.dto';

const paths = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) => result.error?.issues.map((i) => i.path.join('.')) ?? [];
const valid = { slug: 'github', name: 'GitHub', url: 'https://example.com/mcp', authType: 'header', headers: { 'X-Api-Key': 'secret' } };

describe('CreateServerBodySchema', () => {
  it('fills the documented defaults', () => {
    expect(CreateServerBodySchema.parse({ ...valid, authType: 'none', headers: undefined })).toMatchObject({ transport: 'streamable-http', timeoutMs: 30000 });
  });

  it('rejects header auth without headers, and headers without header auth', () => {
    expect(paths(CreateServerBodySchema.safeParse({ ...valid, headers: undefined }))).toEqual(['headers']);
    expect(paths(CreateServerBodySchema.safeParse({ ...valid, authType: 'none' }))).toEqual(['headers']);
    expect(paths(CreateServerBodySchema.safeParse({ ...valid, headers: {} }))).toEqual(['headers']);
  });

  it('rejects one header given twice in different case (a second value smuggled past the first)', () => {
    expect(paths(CreateServerBodySchema.safeParse({ ...valid, headers: { 'X-Api-Key': 'a', 'x-api-key': 'b' } }))).toEqual(['headers.x-api-key']);
  });

  it('rejects header names the gateway owns and values that would split the request', () => {
    expect(paths(CreateServerBodySchema.safeParse({ ...valid, headers: { 'Mcp-Session-Id': 'x' } }))).toEqual(['headers.Mcp-Session-Id']);
    expect(paths(CreateServerBodySchema.safeParse({ ...valid, headers: { 'X-Api-Key': 'a\r\nHost: evil' } }))).toEqual(['headers.X-Api-Key']);
  });

  it('refuses a field it does not know', () => {
    expect(CreateServerBodySchema.safeParse({ ...valid, secret: 'x' }).success).toBe(false);
  });
});

describe('UpstreamUrlSchema', () => {
  it.each(['https://example.com/mcp', 'http://127.0.0.1:3001/mcp', ' https://example.com '])('accepts %s', (url) => {
    expect(UpstreamUrlSchema.safeParse(url).success).toBe(true);
  });

  it.each(['example.com/mcp', 'ftp://example.com', 'file:///etc/passwd', 'https://user:pass@example.com/', 'https://token@example.com/'])('rejects %s', (url) => {
    expect(UpstreamUrlSchema.safeParse(url).success).toBe(false);
  });

  it('never quotes a URL password back', () => {
    const result = UpstreamUrlSchema.safeParse('https://admin:hunter2-secret@example.com/');
    expect(JSON.stringify(result.error?.issues)).not.toContain('hunter2-secret');
  });
});

describe('UpdateServerBodySchema', () => {
  it('accepts an empty change and refuses a slug change', () => {
    expect(UpdateServerBodySchema.safeParse({}).success).toBe(true);
    expect(UpdateServerBodySchema.safeParse({ slug: 'other' }).success).toBe(false);
  });
});
