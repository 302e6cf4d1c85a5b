import { createI18n } from 'vue-i18n'
import { Locale } from 'vant'
import vantEnUS from 'vant/es/locale/lang/en-US'
import vantZhCN from 'vant/es/locale/lang/zh-CN'
import zhCN, { type MessageSchema } from './zh-CN'
import enUS from './en-US'

export type AppLocale = 'zh-CN' | 'en-US'
const STORAGE_KEY = 'jizuo.h5.locale'

function initialLocale(): AppLocale {
  return localStorage.getItem(STORAGE_KEY) === 'en-US' ? 'en-US' : 'zh-CN' // zh-CN first
}

export const i18n = createI18n<[MessageSchema], AppLocale, false>({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, 'en-US': enUS },
})

function apply(locale: AppLocale): void {
  document.documentElement.lang = locale
  Locale.use(locale, locale === 'en-US' ? vantEnUS : vantZhCN)
}

export function setLocale(locale: AppLocale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(STORAGE_KEY, locale)
  apply(locale)
}

apply(initialLocale())
