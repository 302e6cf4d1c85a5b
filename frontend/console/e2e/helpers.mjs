// Shared helpers for the console's browser tests (node:test + playwright-core + Debian's Chromium).
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '')
export const PASSWORD = process.env.DEMO_PASSWORD || 'Jizuo@2026'
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots')

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
}

/** A fresh browser context (own storage) and page, sized like a typical office monitor. */
export async function openPage(browser) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return page
}

export const sel = (name) => `[data-test="${name}"]`

/** Element Plus puts data-test on the native <input> or on its wrapper, depending on the component. */
export function input(page, name) {
  return page.locator(`input${sel(name)}, ${sel(name)} input`).first()
}

export async function login(page, username, password = PASSWORD) {
  await page.goto(`${BASE_URL}/ui/login`)
  await input(page, 'login-username').fill(username)
  await input(page, 'login-password').fill(password)
  await page.locator(sel('login-submit')).click()
}

export async function loginOk(page, username, password = PASSWORD) {
  await login(page, username, password)
  await page.locator(sel('page-dashboard')).waitFor()
}

/** Open an el-select and pick the visible option with exactly this text. */
export async function choose(page, selectName, optionText) {
  await page.locator(sel(selectName)).first().click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: optionText }).first().click()
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true })
  // Let transitions and charts settle before taking the picture.
  await page.waitForTimeout(400)
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
}

/** Call the API from inside the page with the session's own token. */
export function api(page, path) {
  return page.evaluate(async (p) => {
    const res = await fetch(p, { headers: { Authorization: `Bearer ${sessionStorage.getItem('jizuo.access_token')}` } })
    return res.json()
  }, path)
}
