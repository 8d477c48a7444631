/** A hostname (`example.com`) or a wildcard of its subdomains (`*.example.com`), lower case. */
export const REFERRER_PATTERN =
  /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface ReferrerRules {
  /** Empty: any referrer. Otherwise the Referer's host must match one of these. */
  referrers: string[];
  /** Whether a request with no (or an unparseable) Referer is let through. */
  allowNoReferrer: boolean;
}

/** `*.example.com` matches every subdomain (a.example.com, a.b.example.com), not example.com itself. */
export function hostMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (pattern.startsWith('*.')) return h.endsWith(pattern.slice(1)) && h.length > pattern.length - 1;
  return h === pattern;
}

export function referrerAllowed(rules: ReferrerRules, referer: string | undefined): boolean {
  let host: string | undefined;
  if (referer) {
    try {
      host = new URL(referer).hostname || undefined;
    } catch {
      host = undefined;
    }
  }
  if (!host) return rules.allowNoReferrer;
  if (rules.referrers.length === 0) return true;
  return rules.referrers.some((p) => hostMatches(host, p));
}
