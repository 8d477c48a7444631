import { type Algorithm, hash, verify } from '@node-rs/argon2';
import { AppError } from '../../lib/errors';

/** argon2id (Algorithm.Argon2id, a const enum) with OWASP's minimum parameters: 19 MiB, 2 passes, 1 lane. */
const PARAMS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

export function checkPasswordRules(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX)
    throw new AppError('validation_failed', `A password has ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, {
      errors: [{ path: 'password', message: `must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` }],
    });
}

export const hashPassword = (password: string): Promise<string> => hash(password, PARAMS);

/** A hash of no one's password: a sign-in for an unknown email verifies against it (same time as a real one). */
let dummy: Promise<string> | undefined;

/** True when the password matches (argon2's comparison is constant-time); a missing hash costs one hash too. */
export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  dummy ??= hashPassword('no user has this password');
  const target = passwordHash ?? (await dummy);
  try {
    const ok = await verify(target, password);
    return ok && passwordHash !== undefined;
  } catch {
    return false;
  }
}
