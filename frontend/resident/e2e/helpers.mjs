// Shared helpers for the resident H5's browser tests (node:test + playwright-core + Debian's Chromium).
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '')
export const PASSWORD = process.env.DEMO_PASSWORD || 'Jizuo@2026'
const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..', '..', '..')
const SHOTS = join(HERE, 'screenshots')

export const sel = (name) => `[data-test="${name}"]`

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-quic'],
  })
}

/** A phone-sized page (375 × 812, touch) for the H5. */
export async function openPhone(browser) {
  const context = await browser.newContext({
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return page
}

/** A desktop page for the staff console. */
export async function openDesktop(browser) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN',
                                             timezoneId: 'Asia/Shanghai' })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return page
}

export async function loginH5(page, username = 'resident', password = PASSWORD) {
  await page.goto(`${BASE_URL}/h5/login`)
  await page.locator(`${sel('login-username')} input`).fill(username)
  await page.locator(`${sel('login-password')} input`).fill(password)
  await page.locator(sel('login-submit')).click()
}

export async function loginConsole(page, username, password = PASSWORD) {
  await page.goto(`${BASE_URL}/ui/login`)
  await page.locator(`input${sel('login-username')}, ${sel('login-username')} input`).first().fill(username)
  await page.locator(`input${sel('login-password')}, ${sel('login-password')} input`).first().fill(password)
  await page.locator(sel('login-submit')).click()
  await page.locator(sel('page-dashboard')).waitFor()
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true })
  await page.waitForTimeout(400)
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
}

function python(script) {
  const bin = process.env.PYTHON || join(ROOT, '.venv', 'bin', 'python')
  return execFileSync(bin, ['-c', script], { cwd: ROOT, encoding: 'utf8' }).trim()
}

/** The demo resident's synthetic 身份证, derived from the server's demo seed (docs/chronic.md). */
export function demoResidentIdNumber() {
  return python('from jizuo.apps.chronic.demo import demo_resident_id_number\n' +
    'from jizuo.core.config import get_settings\nprint(demo_resident_id_number(get_settings().demo_seed))')
}

/** The demo resident's register id (= their FHIR Patient id), derived from the seed the same way. */
export function demoResidentId() {
  return python([
    'from jizuo.core.config import get_settings',
    'from jizuo.platform.demo.accounts import demo_accounts',
    'from jizuo.platform.demo.generator import build_structure, iter_residents',
    'from jizuo.platform.demo.model import District',
    'seed = get_settings().demo_seed',
    'o, d, p, t = build_structure(seed)',
    'district = District(seed=seed, organizations=o, departments=d, practitioners=p, teams=t,',
    '                    residents=list(iter_residents(seed, 2000)))',
    "print(next(a.resident_id for a in demo_accounts(district) if a.username == 'resident'))",
  ].join('\n'))
}

/** Call the API as a demo account (sign in with the password grant). */
export async function apiAs(username, method, path, body) {
  const login = await fetch(`${BASE_URL}/api/v1/auth/token`, {
    method: 'POST', body: new URLSearchParams({ username, password: PASSWORD }),
  })
  const { access_token: token } = await login.json()
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

/** Post readings as a health-station device (the documented demo key). */
export async function postReading(body, key = process.env.DEVICE_KEY || 'demo-device-key-S001-01-bp') {
  const res = await fetch(`${BASE_URL}/api/v1/devices/readings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Device-Key': key },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}
