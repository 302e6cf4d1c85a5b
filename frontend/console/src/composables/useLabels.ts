import { useI18n } from 'vue-i18n'

/** Localised label for a gender code (male/female/M/F/…); unknown codes pass through. */
export function useGender(): (code: string | null | undefined) => string {
  const { t, te } = useI18n()
  return (code) => {
    if (!code) return t('common.none')
    const key = `gender.${code}`
    return te(key) ? t(key) : code
  }
}

/** Localised chronic-condition label; unknown codes pass through. */
export function useChronic(): (code: string) => string {
  const { t, te } = useI18n()
  return (code) => (te(`chronic.${code}`) ? t(`chronic.${code}`) : code)
}

export type CodeGroup = 'orgLevels' | 'orgTypes' | 'roles' | 'staff.roles' | 'teamRoles'

/**
 * Label for a coded value that the server also sends as Chinese display text.
 * zh-CN: the server's text is authoritative. Other locales: our translation when we have one.
 */
export function useDisplay(): (group: CodeGroup, code: string | null | undefined, serverText?: string | null) => string {
  const { t, te, locale } = useI18n()
  return (group, code, serverText) => {
    const key = `${group}.${code ?? ''}`
    if (locale.value === 'zh-CN' && serverText) return serverText
    if (code && te(key)) return t(key)
    return serverText || code || t('common.none')
  }
}
