import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from './api.js';
import type { Loaded } from './hooks.js';

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const signIn = error instanceof ApiError && error.code === 'SESSION_ENDED';
  return (
    <div class="error" role="alert">
      <p>
        <strong>{signIn ? 'Your session has ended.' : 'Something went wrong.'}</strong> {signIn ? '' : error.message}
      </p>
      {signIn ? (
        <p>Ask your product for a new dashboard link.</p>
      ) : (
        retry && (
          <button type="button" onClick={retry}>
            Try again
          </button>
        )
      )}
    </div>
  );
}

/** The field an API refusal names, when `error` is one. */
const refusedField = (error: Error | undefined) => (error instanceof ApiError ? error.field : undefined);

/** Whether an API refusal names one of a form's `fields`: the form shows it under that input rather than in a box. */
export const refusesOneOf = (error: Error | undefined, fields: readonly string[]) => fields.includes(refusedField(error) ?? '');

/**
 * The API's refusal of one form field, shown under its input; the input points at it (`aria-describedby`) and is marked
 * invalid, so a screen reader reads the reason with the field.
 */
export function fieldErrorProps(error: Error | undefined, field: string, id: string) {
  return refusedField(error) === field ? { 'aria-invalid': true, 'aria-describedby': `${id}-error` } : {};
}

export function FieldError({ error, field, id }: { error: Error | undefined; field: string; id: string }) {
  if (refusedField(error) !== field) return null;
  return (
    <p class="field-error" id={`${id}-error`}>
      {error!.message}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Loading, error or the content of one loaded resource. */
export function Load<T>({ state, what, children }: { state: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  if (state.error) return <ErrorBox error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading what={what} />;
  return <>{children(state.data)}</>;
}

/** A page's heading takes the focus when the page opens, so keyboard and screen reader users land on it. */
export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Meterline`;
    heading.current?.focus();
  }, [title]);
  return (
    <section>
      <div class="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}
