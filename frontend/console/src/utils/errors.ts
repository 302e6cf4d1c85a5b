import { ElMessage } from 'element-plus'
import { ApiError } from '@/api/http'
import { i18n } from '@/i18n'

/** Human message for any error: the server's problem `detail` when there is one. */
export function errorMessage(err: unknown): string {
  const { t } = i18n.global
  if (err instanceof ApiError) {
    if (err.status === 0) return t('common.networkError')
    if (err.detail) return err.detail
    if (err.status === 403) return t('common.forbidden')
    return t('common.requestFailed', { status: err.status })
  }
  if (err instanceof Error && err.message) return err.message
  return String(err)
}

/** Show an error toast, except for 401s (the session handler already redirects to login). */
export function notifyError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) return
  ElMessage.error({ message: errorMessage(err), grouping: true, showClose: true })
}
