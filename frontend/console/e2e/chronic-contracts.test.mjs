// Browser tests of issue 9 part two: the family doctor's contracts (list of the demo's contracts, terminate
// one, the signing indicators), and the district admin registering a health-station device whose key — shown
// once — then authenticates a reading.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/chronic-contracts.test.mjs
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE_URL, demoResidentIdNumber, input, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

let browser

async function tokenOf(username) {
  const res = await fetch(`${BASE_URL}/api/v1/auth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `username=${username}&password=Jizuo%402026`,
  }).then((r) => r.json())
  return { Authorization: `Bearer ${res.access_token}`, 'Content-Type': 'application/json' }
}

describe('signing through the console', () => {
  before(async () => {
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
  })

  test('the family doctor signs the demo resident again with the dialog (by 身份证)', async () => {
    const family = await tokenOf('family_doctor')
    const own = await fetch(`${BASE_URL}/api/v1/residents?page_size=1`, { headers: await tokenOf('resident') })
      .then((r) => r.json())
    const residentId = own.items[0].id
    const current = await fetch(`${BASE_URL}/api/v1/chronic/contracts?status=active&resident_id=${residentId}`, { headers: family })
      .then((r) => r.json())
    for (const c of current.items) {
      const ended = await fetch(`${BASE_URL}/api/v1/chronic/contracts/${c.id}/terminate`, {
        method: 'POST', headers: family, body: JSON.stringify({ reason: '浏览器测试：重新签约' }),
      })
      assert.equal(ended.status, 200)
    }
    const page = await openPage(browser)
    await loginOk(page, 'family_doctor')
    await page.goto(`${BASE_URL}/ui/chronic/contracts`)
    await page.locator(sel('contract-new')).click()
    await input(page, 'contract-id-number').fill(demoResidentIdNumber())
    await page.locator(sel('contract-submit')).click()
    await page.locator('.el-message--success').waitFor()
    const row = page.locator(`${sel('contracts')} .el-table__row`, { hasText: own.items[0].name }).first()
    await row.waitFor()
    assert.match(await row.innerText(), /生效中/)
    await page.context().close()
  })
})

describe('contracts and devices', () => {
  before(async () => {
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
  })

  test('the family doctor lists, terminates and sees the signing indicators', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'family_doctor')
    await page.goto(`${BASE_URL}/ui/chronic`)
    await page.locator(sel('open-contracts')).click()
    await page.locator(sel('page-contracts')).waitFor()
    const rows = page.locator(`${sel('contracts')} .el-table__row`)
    await rows.first().waitFor()
    assert.match(await rows.first().innerText(), /基础包/)
    assert.match(await rows.first().innerText(), /社区中心：/)
    await shot(page, 'chronic-contracts')
    // any contract but the demo resident's (the other tests need them signed)
    const own = await fetch(`${BASE_URL}/api/v1/residents?page_size=1`, { headers: await tokenOf('resident') })
      .then((r) => r.json())
    const victim = rows.filter({ hasNotText: own.items[0].name }).first()
    const name = (await victim.locator('td').first().innerText()).trim()
    await victim.locator(sel('contract-terminate')).click()
    await page.locator('.el-message-box input').fill('迁出本区')
    await page.locator('.el-message-box .el-button--primary').click()
    await page.locator('.el-message--success').waitFor()
    await page.locator(sel('contract-status')).getByText('已解约').click()
    await page.locator(`${sel('contracts')} .el-table__row`, { hasText: name }).first().waitFor()

    await page.getByRole('tab', { name: '签约指标' }).click()
    const stats = page.locator(`${sel('contract-indicators')} .el-table__row`)
    await stats.first().waitFor()
    assert.match(await stats.first().innerText(), /%/)
    await shot(page, 'chronic-contract-indicators')
    await page.context().close()
  })

  test('the district admin registers a device; its key (shown once) authenticates readings', async () => {
    const page = await openPage(browser)
    await loginOk(page, 'admin')
    await page.goto(`${BASE_URL}/ui/chronic/devices`)
    await page.locator(sel('page-devices')).waitFor()
    const code = `E2E-${Date.now() % 1000000}`
    await page.locator(sel('device-new')).click()
    await input(page, 'device-code').fill(code)
    await input(page, 'device-name').fill('测试血压计')
    await page.locator(sel('device-submit')).click()
    const keyInput = input(page, 'device-key')
    await keyInput.waitFor()
    const key = await keyInput.inputValue()
    assert.ok(key.length >= 32)
    await shot(page, 'chronic-device-key')
    await page.locator(sel('device-key-close')).click()
    await page.locator(`${sel('devices')} .el-table__row`, { hasText: code }).waitFor()

    const res = await fetch(`${BASE_URL}/api/v1/devices/readings`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Device-Key': key },
      body: JSON.stringify({ id_number: '110101199001011237', kind: 'weight', measured_at: new Date().toISOString(), value: 60 }),
    })
    assert.equal(res.status, 201)  // authenticated (the resident is unknown: kept, flagged)
    const row = page.locator(`${sel('devices')} .el-table__row`, { hasText: code })
    await row.locator(sel('device-toggle')).click()
    await row.getByText('已停用').waitFor()
    const refused = await fetch(`${BASE_URL}/api/v1/devices/readings`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Device-Key': key },
      body: JSON.stringify({ id_number: '110101199001011237', kind: 'weight', measured_at: new Date().toISOString(), value: 61 }),
    })
    assert.equal(refused.status, 401)
    await page.context().close()
  })
})

describe('repeat prescription (代配药)', () => {
  before(async () => {
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
  })

  test('the resident asks through the API, the family doctor approves in the console', async () => {
    const token = await fetch(`${BASE_URL}/api/v1/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'username=resident&password=Jizuo%402026',
    }).then((r) => r.json())
    const auth = { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/json' }
    const meds = await fetch(`${BASE_URL}/api/v1/chronic/me/medications`, { headers: auth }).then((r) => r.json())
    assert.ok(meds.length >= 1, 'the demo resident has a long-term prescription')
    const asked = await fetch(`${BASE_URL}/api/v1/chronic/me/medication-requests`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ medication_request_id: meds[0].id, days: 60, proxy_name: '李小红', proxy_relation: '女儿' }),
    })
    assert.equal(asked.status, 201)

    const page = await openPage(browser)
    await loginOk(page, 'family_doctor')
    await page.goto(`${BASE_URL}/ui/chronic`)
    await page.locator(sel('open-medication')).click()
    await page.locator(sel('page-medication')).waitFor()
    const row = page.locator(`${sel('refills')} .el-table__row`, { hasText: '李小红（女儿）' }).first()
    await row.waitFor()
    await shot(page, 'chronic-medication')
    await row.locator(sel('refill-approve')).click()
    await page.locator('.el-message--success').waitFor()
    const mine = await fetch(`${BASE_URL}/api/v1/chronic/me/medication-requests`, { headers: auth }).then((r) => r.json())
    const decided = mine.find((m) => m.proxy_name === '李小红' && m.status === 'approved')
    assert.ok(decided?.new_medication_request_id, 'a new MedicationRequest was written')
    await page.context().close()
  })
})

describe('COPD assessment', () => {
  before(async () => {
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
  })

  test('the family doctor registers the demo resident for COPD and records a GOLD assessment', async () => {
    const token = await fetch(`${BASE_URL}/api/v1/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'username=family_doctor&password=Jizuo%402026',
    }).then((r) => r.json())
    const auth = { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/json' }
    const residentToken = await fetch(`${BASE_URL}/api/v1/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'username=resident&password=Jizuo%402026',
    }).then((r) => r.json())
    // a resident's own register page holds exactly their record
    const own = await fetch(`${BASE_URL}/api/v1/residents?page_size=1`, { headers: { Authorization: `Bearer ${residentToken.access_token}` } })
      .then((r) => r.json())
    const residentId = own.items?.[0]?.id
    assert.ok(residentId, JSON.stringify(own))
    const registered = await fetch(`${BASE_URL}/api/v1/chronic/patients`, {
      method: 'POST', headers: auth, body: JSON.stringify({ resident_id: residentId, disease: 'copd' }),
    })
    assert.ok([201, 409].includes(registered.status))

    const page = await openPage(browser)
    await loginOk(page, 'family_doctor')
    await page.goto(`${BASE_URL}/ui/chronic/residents/${residentId}`)
    await page.locator(sel('resident-contracts')).waitFor()
    await page.locator(sel('copd-assess')).first().click()
    await page.locator(`${sel('copd-fev1')} input`).fill('45')
    await page.locator(sel('copd-save')).click()
    await page.locator('.el-message--success', { hasText: 'GOLD 3' }).waitFor()
    await page.locator(`${sel('copd-assessments')} .el-table__row`).first().waitFor()
    await shot(page, 'chronic-copd')
    await page.context().close()
  })
})
