// Browser tests of the 互认 console pages (互认统计, 互认项目) against a running server with the demo district.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/recognition-pages.test.mjs
// The demo seed stores recent results at 江川区中心医院 for residents registered at JC-C001 but makes no decisions;
// the setup does what a HIS does (docs/recognition.md): the family doctor of JC-C001 checks orders for three of
// them and decides — recognised or re-tested with a national reason — so the statistics have something to count.
// Safe to run again on the same database: counts are compared with the server's, and the edited item is restored.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { BASE_URL, PASSWORD, api, input, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

const LOINC = 'http://loinc.org'
const LOCAL_C001 = 'https://jizuo.example.org/fhir/CodeSystem/lab-local/JC-C001'
let browser

async function token(username) {
  const res = await fetch(`${BASE_URL}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: PASSWORD }),
  })
  assert.equal(res.status, 200)
  return (await res.json()).access_token
}

async function call(path, bearer, body, method = body ? 'POST' : 'GET') {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = await res.json()
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

// Decisions made in turn on the prompts of the setup's checks: recognised, re-tested for an emergency, recognised,
// re-tested at the patient's request, …
const TURNS = [
  { decision: 'recognised' },
  { decision: 'retested', reason: 'emergency' },
  { decision: 'recognised' },
  { decision: 'retested', reason: 'patient_request' },
]

/** Three checks by the JC-C001 family doctor (CBC by local code, HbA1c and chest CT by LOINC), then decisions. */
async function seedDecisions() {
  const admin = await token('admin')
  const since = new Date(Date.now() - 10 * 86400_000).toISOString().slice(0, 10)
  const doctor = await token('family_doctor')
  const centre = (await call('/api/v1/auth/me', doctor)).organization.id
  // The recognition seed's HbA1c reports were made at 江川区中心医院 (the doctor account's institution); only
  // residents registered at the family doctor's own centre may be checked there (the treatment context).
  const hospital = (await call('/api/v1/auth/me', await token('doctor'))).organization.id
  const reports = await call(`/fhir/DiagnosticReport?code=${LOINC}|4548-4&date=ge${since}&_count=200`, admin)
  const seeded = (reports.entry ?? []).filter((e) => e.resource.performer?.some((p) => p.reference === `Organization/${hospital}`))
  const patients = []
  for (const reference of new Set(seeded.map((e) => e.resource.subject.reference))) {
    const patient = await call(`/fhir/${reference}`, admin)
    if (patient.managingOrganization?.reference === `Organization/${centre}`) patients.push(reference)
    if (patients.length === 3) break
  }
  assert.equal(patients.length, 3, 'demo seed wrote recent results for at least three JC-C001 residents')
  const made = { recognised: 0, retested: 0 }
  let turn = 0
  for (const reference of patients) {
    const check = await call('/api/v1/recognition/check', doctor, {
      patient: { patient_id: reference.split('/')[1] },
      ordering_organization: centre,
      practitioner: 'GP-01',
      department: 'QK',
      items: [{ system: LOCAL_C001, code: 'C-XCG' }, { system: LOINC, code: '4548-4' }, { system: LOINC, code: '24627-2' }],
    })
    for (const item of check.items.filter((i) => i.prompt_id)) {
      const decision = TURNS[turn++ % TURNS.length]
      await call(`/api/v1/recognition/prompts/${item.prompt_id}/decision`, doctor, decision)
      made[decision.decision] += 1
    }
  }
  assert.ok(made.recognised >= 2 && made.retested >= 2, JSON.stringify(made))
}

before(async () => {
  browser = await launch()
  await seedDecisions()
})
after(async () => {
  await browser?.close()
})

describe('互认统计 for the regulator (卫健委)', () => {
  let page
  before(async () => {
    page = await openPage(browser)
    await loginOk(page, 'weijianwei')
  })
  after(async () => {
    await page.context().close()
  })

  test('KPI cards, table and charts show the district figures', async () => {
    assert.equal(await page.locator(sel('menu-recognitionItems')).count(), 0, 'the regulator does not check orders')
    await page.locator(sel('menu-recognitionStats')).click()
    await page.locator(sel('page-recognition-stats')).waitFor()
    const server = await api(page, '/api/v1/recognition/statistics?group=organization')
    assert.ok(server.totals.recognised >= 3 && server.totals.retested >= 2, JSON.stringify(server.totals))
    const kpi = (name) => page.locator(`${sel(`rec-kpi-${name}`)} ${sel('rec-kpi-value')}`)
    await page.locator(sel('rec-kpi-prompts'), { hasText: String(server.totals.prompts) }).waitFor()
    assert.equal(await kpi('recognised').innerText(), String(server.totals.recognised))
    assert.equal(await kpi('retested').innerText(), String(server.totals.retested))
    const expectedRate = `${((server.totals.recognised / server.totals.prompts) * 100).toFixed(1)}%`
    assert.equal(await kpi('rate').innerText(), expectedRate)
    assert.match(await kpi('saved').innerText(), /¥\s?[\d,]+\.\d\d/)
    assert.ok(server.totals.saved > 0)
    assert.equal(await page.locator(sel('rec-stats-reach')).innerText(), '全区')

    const table = page.locator(sel('rec-stats-table'))
    await table.locator(sel('rec-stats-row-name'), { hasText: '江川区' }).first().waitFor()
    assert.ok((await table.innerText()).includes('合计'))
    for (const chart of ['bar', 'trend', 'reasons']) {
      await page.locator(`${sel(`rec-chart-${chart}`)} canvas`).first().waitFor()
    }
    await shot(page, 'recognition-stats-01-organization')
  })

  test('group by re-test reason and chart by item', async () => {
    await page.locator(sel('rec-stats-group-reason')).click()
    const table = page.locator(sel('rec-stats-table'))
    await table.locator(sel('rec-stats-row-name'), { hasText: '急诊、急救、危重症抢救' }).waitFor()
    await table.locator(sel('rec-stats-row-name'), { hasText: '患者或其家属要求复查' }).waitFor()
    await page.locator(sel('rec-stats-bar-item')).click()
    await page.locator(`${sel('rec-chart-bar')} canvas`).first().waitFor()
    await page.locator(sel('rec-stats-group-day')).click()
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date())
    await table.locator(sel('rec-stats-row-name'), { hasText: today }).waitFor()
    await shot(page, 'recognition-stats-02-day')
  })

  test('导出 Excel downloads the workbook', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(sel('rec-stats-export')).click()])
    assert.match(download.suggestedFilename(), /^检查检验结果互认统计-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.xlsx$/)
    const bytes = readFileSync(await download.path())
    assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'an xlsx is a zip')
    await page.locator('.el-message--success', { hasText: '已下载' }).waitFor()
  })
})

describe('互认项目 for the district administrator', () => {
  let page
  let original
  let admin
  before(async () => {
    admin = await token('admin')
    original = (await call('/api/v1/recognition/items', admin)).find((i) => i.code === 'ALT')
    assert.ok(original, 'ALT is in the catalogue')
    page = await openPage(browser)
    await loginOk(page, 'admin')
  })
  after(async () => {
    // Leave the catalogue as we found it for the other tests.
    await call('/api/v1/recognition/items/ALT', admin,
               { window_days: original.window_days, codes: original.codes }, 'PATCH')
    await page.context().close()
  })

  const altRow = () => page.locator(`${sel('rec-items-table')} .el-table__row`, { has: page.locator(sel('rec-item-code'), { hasText: /^ALT$/ }) })

  test('the catalogue lists items with local codes, and the institutions with their levels', async () => {
    await page.locator(sel('menu-recognitionItems')).click()
    await page.locator(sel('page-recognition-items')).waitFor()
    const rows = page.locator(`${sel('rec-items-table')} .el-table__row`)
    await rows.first().waitFor()
    assert.ok((await rows.count()) >= 14)
    assert.equal(await page.locator(sel('rec-items-readonly')).count(), 0)
    const text = await page.locator(sel('rec-items-table')).innerText()
    for (const s of ['血常规', '58410-2', 'JC-C001 · C-XCG', '胸部CT', '检查', '30 天']) assert.ok(text.includes(s), s)
    await shot(page, 'recognition-items-01-list')
    await page.getByRole('tab', { name: '互认机构' }).click()
    const institutions = page.locator(sel('rec-institutions-table'))
    await institutions.locator('.el-table__row').first().waitFor()
    const list = await institutions.innerText()
    assert.ok(list.includes('江川区中心医院') && list.includes('三级甲等'), list.slice(0, 300))
    await shot(page, 'recognition-items-02-institutions')
    await page.getByRole('tab', { name: '互认项目' }).click()
  })

  test('a code already mapped elsewhere is refused with the server’s Chinese message', async () => {
    await altRow().locator(sel('rec-item-edit')).click()
    const dialog = page.locator(sel('rec-item-dialog'))
    await dialog.waitFor()
    await dialog.locator(sel('rec-item-add-code')).click()
    const last = dialog.locator(`${sel('rec-item-codes')} .el-table__row`).last()
    await last.locator('input').nth(0).fill(LOINC)
    await last.locator('input').nth(1).fill('1920-8') // AST's LOINC
    await dialog.locator(sel('rec-item-save')).click()
    await dialog.locator(sel('rec-item-error'), { hasText: '代码已映射到其他项目' }).waitFor()
    await shot(page, 'recognition-items-03-error')
    await page.locator(sel('rec-item-dialog')).getByRole('button', { name: '取消' }).click()
    await dialog.waitFor({ state: 'hidden' })
  })

  test('editing the window days saves and shows the new value', async () => {
    const next = original.window_days === 21 ? 28 : 21
    await altRow().locator(sel('rec-item-edit')).click()
    const dialog = page.locator(sel('rec-item-dialog'))
    await dialog.waitFor()
    const box = input(page, 'rec-item-window-input')
    await box.fill(String(next))
    await box.press('Tab')
    await dialog.locator(sel('rec-item-save')).click()
    await dialog.waitFor({ state: 'hidden' })
    await altRow().locator(sel('rec-item-window'), { hasText: `${next} 天` }).waitFor()
    const stored = (await api(page, '/api/v1/recognition/items')).find((i) => i.code === 'ALT')
    assert.equal(stored.window_days, next)
    assert.equal(stored.version, original.version + 1)
    await page.reload()
    await altRow().locator(sel('rec-item-window'), { hasText: `${next} 天` }).waitFor()
  })
})

describe('who sees the statistics', () => {
  test('a doctor may read statistics (stats:read), limited to their own institution', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'doctor')
    const me = await api(page, '/api/v1/auth/me')
    assert.ok(me.permissions.includes('stats:read') && !me.permissions.includes('recognition:admin'))
    await page.locator(sel('menu-recognitionStats')).click()
    await page.locator(sel('page-recognition-stats')).waitFor()
    await page.locator(sel('rec-stats-reach'), { hasText: '本机构：江川区中心医院' }).waitFor()
    // The demo decisions were made at JC-C001: none of them reaches a JC-H001 doctor.
    const own = await api(page, '/api/v1/recognition/statistics?group=organization')
    assert.ok(own.rows.every((r) => r.key === me.organization.id), JSON.stringify(own.rows))
    const names = await page.locator(sel('rec-stats-row-name')).allInnerTexts()
    assert.ok(names.every((n) => n === '江川区中心医院'), names.join(','))
    // The doctor checks orders, so reads the catalogue, but may not edit it.
    await page.locator(sel('menu-recognitionItems')).click()
    await page.locator(`${sel('rec-items-table')} .el-table__row`).first().waitFor()
    await page.locator(sel('rec-items-readonly')).waitFor()
    assert.equal(await page.locator(sel('rec-item-edit')).count(), 0)
    await page.context().close()
  })

  test('a resident (no stats:read: the server answers 403) has no menu and the page is forbidden', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'resident')
    const denied = await api(page, '/api/v1/recognition/statistics')
    assert.equal(denied.status, 403)
    assert.equal(await page.locator(sel('menu-recognitionStats')).count(), 0)
    assert.equal(await page.locator(sel('menu-recognitionItems')).count(), 0)
    await page.goto(`${BASE_URL}/ui/recognition/stats`)
    await page.waitForURL(/\/forbidden$/)
    await page.context().close()
  })
})
