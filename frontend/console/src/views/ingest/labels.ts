// Tag colours and i18n keys for the coded values the ingest and quality APIs return.
import { useI18n } from 'vue-i18n'

type TagType = 'success' | 'warning' | 'danger' | 'info' | 'primary'

const BATCH_TAG: Record<string, TagType> = { done: 'success', failed: 'danger', processing: 'warning', received: 'info' }
const UPLOAD_TAG: Record<string, TagType> = { sent: 'success', failed: 'danger', pending: 'warning' }
const RECORD_TAG: Record<string, TagType> = {
  quarantined: 'warning',
  released: 'success',
  discarded: 'info',
  superseded: 'info',
}

export const batchTag = (status: string): TagType => BATCH_TAG[status] ?? 'info'
export const uploadTag = (state: string): TagType => UPLOAD_TAG[state] ?? 'info'
export const recordTag = (status: string): TagType => RECORD_TAG[status] ?? 'info'

/** Score colour bands as a district report reads them: ≥ 90 good, ≥ 75 fair, below that poor. */
export const scoreTag = (score: number): TagType => (score >= 90 ? 'success' : score >= 75 ? 'warning' : 'danger')

/** Label of `group.code` under `prefix` when we have one; the code itself otherwise. */
export function useCodeLabel(): (group: string, code: string | null | undefined) => string {
  const { t, te } = useI18n()
  return (group, code) => {
    if (!code) return t('common.none')
    const key = `${group}.${code}`
    return te(key) ? t(key) : code
  }
}

export const percent = (ratio: number | null | undefined): string =>
  typeof ratio === 'number' ? `${(ratio * 100).toFixed(1)}%` : '—'

/** Beijing calendar date "YYYY-MM-DD" of an instant, `days` before it. */
export function shanghaiDate(daysBefore = 0, from: Date = new Date()): string {
  const d = new Date(from.getTime() - daysBefore * 86_400_000)
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(d)
}
