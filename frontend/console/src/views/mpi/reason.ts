// Every steward action asks for a reason (it goes into the event and the audit trail).
import { ElMessageBox } from 'element-plus'
import { i18n } from '@/i18n'

/** The reason typed into a confirmation prompt, or null when cancelled. */
export async function askReason(message: string, confirmText: string, required = true): Promise<string | null> {
  const { t } = i18n.global
  try {
    const { value } = await ElMessageBox.prompt(message, t('mpi.reasonTitle'), {
      confirmButtonText: confirmText,
      cancelButtonText: t('common.cancel'),
      inputPlaceholder: t('mpi.reasonPh'),
      inputValidator: (v: string) => !required || (v ?? '').trim().length > 0 || t('mpi.reasonRequired'),
      customClass: 'mpi-reason-box',
      type: 'warning',
    })
    return (value ?? '').trim()
  } catch {
    return null
  }
}
