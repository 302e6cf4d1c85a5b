// The signed-in resident's chronic-care record (/api/v1/chronic/me) and contract (/chronic/me/contract), loaded
// once and shared by the pages.
import { ref } from 'vue'
import { errorMessage, fetchMyCare, fetchMyContract, type MyCare } from './api'
import { i18n } from './i18n'

export const care = ref<MyCare | null>(null)
export const careError = ref('')
export const careLoading = ref(false)

export async function loadCare(force = false): Promise<void> {
  if (care.value && !force) return
  careLoading.value = true
  careError.value = ''
  try {
    const [record, contract] = await Promise.all([fetchMyCare(90), fetchMyContract().catch(() => null)])
    care.value = { ...record, contract }
  } catch (err) {
    careError.value = errorMessage(err, i18n.global.t('common.networkError'))
  } finally {
    careLoading.value = false
  }
}

export function resetCare(): void {
  care.value = null
}
