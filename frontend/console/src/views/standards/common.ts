// Shared bits of the 数据标准 pages: who may edit, how a version status looks, the Excel download.
import { computed } from 'vue'
import { ElMessage } from 'element-plus'
import { downloadCatalogueXlsx, type VersionStatus } from '@/api/standards'
import { i18n } from '@/i18n'
import { useAuthStore } from '@/stores/auth'
import { notifyError } from '@/utils/errors'

/** Editing the catalogue needs standards:write (district administrators); the server checks it too. */
export function useStandardsWrite() {
  const auth = useAuthStore()
  return computed(() => {
    const me = auth.me
    if (!me) return false
    return me.permissions.includes('standards:write') || (me.permissions.length === 0 && me.role === 'district_admin')
  })
}

export function statusTag(status: VersionStatus): 'success' | 'warning' | 'info' {
  return status === 'published' ? 'success' : status === 'draft' ? 'warning' : 'info'
}

export async function exportCatalogue(): Promise<void> {
  try {
    const name = await downloadCatalogueXlsx()
    ElMessage.success(i18n.global.t('standards.exported', { name }))
  } catch (err) {
    notifyError(err)
  }
}

/** "40–300 mmHg" for an element's plausible range; empty when it has none. */
export function rangeText(min: number | null, max: number | null, unit: string | null): string {
  if (min === null && max === null) return ''
  const u = unit ? ` ${unit}` : ''
  if (min !== null && max !== null) return `${min}–${max}${u}`
  return min !== null ? `≥ ${min}${u}` : `≤ ${max}${u}`
}
