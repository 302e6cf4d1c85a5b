// Server-side validation errors (RFC 9457 problem JSON with `errors[].field`) shown under form items.
import { reactive } from 'vue'
import type { FormInstance } from 'element-plus'
import { ApiError } from '@/api/http'

export function useFieldErrors() {
  const errors = reactive<Record<string, string>>({})

  function clear(): void {
    for (const key of Object.keys(errors)) delete errors[key]
  }

  /** Put field errors of a 409/422 under their inputs; returns true when any was placed. */
  function take(err: unknown): boolean {
    clear()
    if (!(err instanceof ApiError) || !err.errors.length) return false
    for (const e of err.errors) errors[e.field.split('.').pop() ?? e.field] = e.message
    return true
  }

  return { errors, clear, take }
}

/** 412: someone changed the row since the form was filled. */
export const isStale = (err: unknown) => err instanceof ApiError && err.status === 412

/** Clear validation messages after resetting a form's values: selects validate on every change of their
 *  value, asynchronously, so clearing at once would be undone a moment later. */
export function clearAfterReset(form: FormInstance | undefined): void {
  setTimeout(() => form?.clearValidate(), 0)
}
