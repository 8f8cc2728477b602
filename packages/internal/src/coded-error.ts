/**
 * The base of every package's error type: a stable `code`, the subclass's own `name`, and `cause`.
 * A package declares its family once (execa and ofetch have one error type with codes):
 *
 *   export class QmpError extends CodedError<QmpErrorCode> {}
 *   export const isQmpError = errorGuard(QmpError, '@stack/qmp-protocol');
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, 'name', {
      value: new.target.name,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

/**
 * Brands `Base`'s prototype with `Symbol.for('<family>/error')` and returns the guard for it. A brand
 * rather than `instanceof`: two copies of a package (a dependency's and the app's) make two classes,
 * and their errors must still be recognised. The symbol key is the one the packages used before.
 */
export function errorGuard<E extends Error>(
  Base: abstract new (...args: never[]) => E,
  family: string,
): (e: unknown) => e is E {
  const brand = Symbol.for(`${family}/error`);
  Object.defineProperty(Base.prototype, brand, { value: true });
  return (e: unknown): e is E => typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
}
