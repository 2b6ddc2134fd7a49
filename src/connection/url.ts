import { maskUrl } from '../logger/index.js';

export { maskUrl };

/** The password of a URL, for checks that nothing printed it. @internal */
export function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}
