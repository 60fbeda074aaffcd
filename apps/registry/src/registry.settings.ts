/** Injection token for {@link RegistrySettings}. */
export const REGISTRY_SETTINGS = Symbol('REGISTRY_SETTINGS');

/** The registry's own settings, resolved from its module options. */
export interface RegistrySettings {
  /** How long a call to identity or token-vault may take before the API answers 503. */
  dependencyTimeoutMs: number;
  /** Whether upstream URLs may point at private, loopback or link-local addresses (SSRF guard off). */
  outboundAllowPrivate: boolean;
}
