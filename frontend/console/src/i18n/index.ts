import { createI18n } from 'vue-i18n'
import zhCN, { type MessageSchema } from './zh-CN'
import enUS from './en-US'

export type AppLocale = 'zh-CN' | 'en-US'
export const LOCALES: AppLocale[] = ['zh-CN', 'en-US']
const STORAGE_KEY = 'jizuo.locale'

function initialLocale(): AppLocale {
  const saved = localStorage.getItem(STORAGE_KEY)
  return saved === 'en-US' ? 'en-US' : 'zh-CN' // zh-CN first, whatever the browser says
}

export const i18n = createI18n<[MessageSchema], AppLocale, false>({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, 'en-US': enUS },
})

export function setLocale(locale: AppLocale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(STORAGE_KEY, locale)
  document.documentElement.lang = locale
}

export const t = i18n.global.t

document.documentElement.lang = initialLocale()
