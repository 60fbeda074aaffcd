/** The row identity a sealed value is bound to. */
export interface CredentialBinding {
  id: string;
  serverId: string;
  principalId: string | null;
  kind: string;
  name: string;
}

/**
 * Associated data for a credential's ciphertext: its id, server, principal,
 * kind and name. A sealed value copied into any other row (or a row whose
 * server, principal or name was changed behind the vault's back) no longer
 * decrypts. Free-text parts are percent-encoded so no two rows share a string.
 */
export function credentialAssociatedData(binding: CredentialBinding): string {
  const principal = binding.principalId === null ? '*' : encode(binding.principalId);
  return [`credential:${binding.id}`, `server:${binding.serverId}`, `principal:${principal}`, `kind:${encode(binding.kind)}`, `name:${encode(binding.name)}`].join('|');
}

// `*` stands for "shared", so a principal literally named `*` must not encode to it.
const encode = (text: string): string => encodeURIComponent(text).replace(/\*/g, '%2A');
