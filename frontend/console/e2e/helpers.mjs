// Shared helpers for the console's browser tests (node:test + playwright-core + Debian's Chromium).
import { execFileSync } from 'node:child_process'
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

export const ID_CARD = 'urn:oid:2.16.156.10011.1.3'

/** An API access token for a demo account, signed in over HTTP (not through a page). */
export async function apiToken(username, password = PASSWORD) {
  const res = await fetch(`${BASE_URL}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }),
  })
  if (res.status !== 200) throw new Error(`sign-in of ${username} failed: ${res.status}`)
  return (await res.json()).access_token
}

/** A resident signed with the family doctor's team: FHIR Patient id, 身份证 (the family doctor sees it in full), name. */
export async function signedResident() {
  const res = await fetch(`${BASE_URL}/fhir/Patient?_count=5`,
    { headers: { Authorization: `Bearer ${await apiToken('family_doctor')}` } })
  const bundle = await res.json()
  for (const entry of bundle.entry || []) {
    const id = (entry.resource.identifier || []).find((i) => i.system === ID_CARD && /^\d{17}[\dX]$/.test(i.value))
    if (id) return { id: entry.resource.id, idNumber: id.value, name: entry.resource.name?.[0]?.text }
  }
  throw new Error('no signed resident with a 身份证 visible to family_doctor')
}

/** The demo `resident`'s synthetic 身份证, derived from the server's demo seed as the demo does. */
export function demoResidentIdNumber() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
  const python = process.env.PYTHON || join(root, '.venv', 'bin', 'python')
  const script = 'from jizuo.apps.chronic.demo import demo_resident_id_number\n' +
    'from jizuo.core.config import get_settings\nprint(demo_resident_id_number(get_settings().demo_seed))'
  return execFileSync(python, ['-c', script], { cwd: root, encoding: 'utf8' }).trim()
}
