/**
 * A minimal "browser" for the authorization code flow against the test IdP:
 * follows redirects (keeping cookies) from an authorization URL until the IdP
 * redirects to `redirectUri`, and returns that callback URL. The test IdP
 * finishes its login and consent interactions itself (see test-idp.mjs).
 */
export async function followAuthorization(authorizationUrl: string, redirectUri: string, maxHops = 20): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl;
  for (let hop = 0; hop < maxHops; hop += 1) {
    if (url.startsWith(redirectUri)) return new URL(url);
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    const location = response.headers.get('location');
    await response.body?.cancel();
    if (response.status < 300 || response.status >= 400 || !location) throw new Error(`authorization stopped at ${new URL(url).pathname} with ${response.status}`);
    url = new URL(location, url).toString();
  }
  throw new Error('authorization did not reach the redirect URI');
}
