// Shared bits of the 互认 console pages: who may edit the catalogue, level labels, money and rate formats.
import { computed } from 'vue'
import { useAuthStore } from '@/stores/auth'

/** Registry level codes in the server's LEVEL_RANK order (highest first); labels are `orgLevels.<code>`. */
export const LEVELS = ['3A', '3B', '2A', '2B', '1', 'community', 'station', 'none'] as const

/** Editing items needs recognition:admin (district administrators); the server checks it too. */
export function useRecognitionAdmin() {
  const auth = useAuthStore()
  return computed(() => {
    const me = auth.me
    if (!me) return false
    return me.permissions.includes('recognition:admin') || (me.permissions.length === 0 && me.role === 'district_admin')
  })
}

/** The regulator and district administrators see the whole district; other roles their own institution. */
export function useDistrictWide() {
  const auth = useAuthStore()
  return computed(() => auth.me?.role === 'district_admin' || auth.me?.role === 'regulator')
}

const YUAN = new Intl.NumberFormat('zh-CN', { style: 'currency', currency: 'CNY', maximumFractionDigits: 2 })

export const yuan = (amount: number): string => YUAN.format(amount)

/** Recognised share of the decided-or-not prompts, "—" when there were none. */
export const rate = (recognised: number, prompts: number): string =>
  prompts ? `${((recognised / prompts) * 100).toFixed(1)}%` : '—'
