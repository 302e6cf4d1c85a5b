// Labels and small formatting helpers shared by the MPI (主索引) pages.
import { useI18n } from 'vue-i18n'
import type { Agreement, ComparisonName, SourceRecord } from '@/api/mpi'

/** Which field of a source record each comparison of the model compares. */
export const COMPARED_FIELD: Record<ComparisonName, keyof SourceRecord> = {
  name: 'name',
  gender: 'gender',
  birth: 'birth_date',
  id_card: 'id_number',
  phone: 'phone',
  address: 'address',
}

export const AGREEMENT_TAG: Record<Agreement, 'success' | 'warning' | 'danger' | 'info'> = {
  agree: 'success',
  partial: 'warning',
  disagree: 'danger',
  missing: 'info',
}

/** Match probability as a percentage with one decimal ("97.0%"). */
export function probability(p: number | null | undefined): string {
  return typeof p === 'number' ? `${(p * 100).toFixed(1)}%` : '—'
}

/** Match weight in bits, signed ("+9.88", "−7.08"). */
export function bits(w: number | null | undefined): string {
  if (typeof w !== 'number') return '—'
  const rounded = w.toFixed(2)
  return w > 0 ? `+${rounded}` : rounded.replace('-', '−')
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—'
}

/** Localised labels for codes the MPI API returns; unknown codes pass through. */
export function useMpiLabels() {
  const { t, te } = useI18n()
  const pick = (group: string, code: string | null | undefined): string => {
    if (!code) return t('common.none')
    const key = `mpi.${group}.${code.replace(/[:.]/g, '_')}`
    return te(key) ? t(key) : code
  }
  return {
    method: (code: string | null | undefined) => pick('methods', code),
    action: (code: string | null | undefined) => pick('actions', code),
    status: (code: string | null | undefined) => pick('statuses', code),
    agreement: (code: Agreement | null | undefined) => pick('agreements', code),
    comparison: (code: ComparisonName) => t(`mpi.fields.${code}`),
    rule: (code: string | null | undefined) => pick('rules', code),
  }
}
