// Browser test of 慢病管理: a health-station device posts a blood-pressure reading above the urgent threshold
// (SBP ≥ 180) for the demo resident, and the alert appears on the family doctor's workbench, with the trend on
// the resident's page.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/chronic.test.mjs
// The device key is the documented demo key (docs/chronic.md); the resident's synthetic 身份证 is derived from
// the demo seed by jizuo.apps.chronic.demo.demo_resident_id_number (JIZUO_DEMO_SEED, default as the server's).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE_URL, demoResidentIdNumber, launch, loginOk, openPage, sel, shot } from './helpers.mjs'

const DEVICE_KEY = process.env.DEVICE_KEY || 'demo-device-key-S001-01-bp'
let browser

async function postReading(body, key = DEVICE_KEY) {
  const res = await fetch(`${BASE_URL}/api/v1/devices/readings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Device-Key': key },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

describe('health-station reading → family doctor alert', () => {
  before(async () => {
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
  })

  test('a wrong device key is refused with a Chinese problem', async () => {
    const refused = await postReading({ id_number: '110101199001011237', kind: 'weight',
                                        measured_at: new Date().toISOString(), value: 60 }, 'wrong-key')
    assert.equal(refused.status, 401)
    assert.match(refused.body.detail, /设备密钥/)
  })

  test('an urgent reading shows on the workbench', async () => {
    const idNumber = demoResidentIdNumber()
    assert.match(idNumber, /^\d{17}[\dX]$/)
    // A systolic value unique to this run, so the row found on the page is this reading's alert.
    const systolic = 181 + Math.floor(Math.random() * 60)
    const posted = await postReading({ readings: [{ id_number: idNumber, kind: 'blood_pressure',
      measured_at: new Date().toISOString(), systolic, diastolic: 100, pulse: 88 }] })
    assert.equal(posted.status, 201, JSON.stringify(posted.body))
    assert.equal(posted.body.alerts, 1)

    const page = await openPage(browser)
    await loginOk(page, 'family_doctor')
    await page.goto(`${BASE_URL}/ui/chronic`)
    await page.locator(sel('page-chronic')).waitFor()
    const row = page.locator(`${sel('chronic-alerts')} .el-table__row`, { hasText: `${systolic}/100` })
    await row.first().waitFor()
    assert.match(await row.first().innerText(), /血压危急/)
    await shot(page, 'chronic-workbench')

    // The resident's page: the trend chart and the alert.
    await row.first().locator('button').first().click()
    await page.locator(sel('page-chronic-resident')).waitFor()
    await page.locator(sel('trend-bp')).waitFor()
    await page.locator(`${sel('resident-alerts')} .el-table__row`, { hasText: `${systolic}/100` }).first().waitFor()
    await shot(page, 'chronic-resident')

    // Acknowledge from the workbench: the alert leaves the open list.
    await page.goto(`${BASE_URL}/ui/chronic`)
    const again = page.locator(`${sel('chronic-alerts')} .el-table__row`, { hasText: `${systolic}/100` }).first()
    await again.locator(sel('alert-ack')).click()
    await page.locator(`${sel('chronic-alerts')} .el-table__row`, { hasText: `${systolic}/100` }).waitFor({ state: 'detached' })
    await page.context().close()
  })
})
