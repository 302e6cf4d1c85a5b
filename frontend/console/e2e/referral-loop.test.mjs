// Browser test of the loop around 双向转诊: the hospital publishes a slot reserved for family doctors; the family
// doctor books it with the up-referral; the hospital doctor accepts on the phone-sized view (the booking is
// confirmed: 已预约), sees the patient and completes with a down-referral; the family doctor finds the follow-up
// task. Then a hospital visit of a signed resident reaches the family doctor's bell and visits list.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/referral-loop.test.mjs
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BASE_URL, apiToken as token, input, launch, loginOk, openPage, sel, shot, signedResident } from './helpers.mjs'

let browser

async function call(username, method, path, body, type = 'application/json') {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${await token(username)}`, 'Content-Type': type },
    body: body ? JSON.stringify(body) : undefined,
  })
  const data = await res.json()
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(data)}`)
  return data
}

before(async () => {
  browser = await launch()
})
after(async () => {
  await browser?.close()
})

describe('双向转诊 · 号源、移动版与院外就诊', () => {
  test('family doctor books a reserved slot; hospital accepts on the phone; down-referral; follow-up', async () => {
    const patient = await signedResident()
    const start = new Date(Date.now() + 5 * 86400_000)
    start.setUTCHours(1, 0, 0, 0) // 09:00 Beijing
    const [slot] = await call('doctor', 'POST', '/api/v1/referrals/slots', {
      start_at: start.toISOString(), minutes: 30, count: 1, kind: 'expert', place: '心内科专家门诊（家庭医生专号）',
    })

    const family = await openPage(browser)
    await loginOk(family, 'family_doctor')
    await family.goto(`${BASE_URL}/ui/referral/new`)
    await input(family, 'referral-id-number').fill(patient.idNumber)
    await family.locator(sel('referral-lookup')).click()
    await family.locator(sel('referral-patient')).waitFor()
    await family.locator(sel('referral-target')).first().click()
    await family.keyboard.type('中心医院')
    await family.locator('.el-select-dropdown__item:visible', { hasText: '江川区中心医院' }).first().click()
    await family.locator(sel('referral-create-slot')).first().click()
    await family.locator('.el-select-dropdown__item:visible', { hasText: '家庭医生专号' }).first().click()
    await family.locator(`textarea${sel('referral-reason')}, ${sel('referral-reason')} textarea`).first().fill('反复胸闷，需心内科专家评估')
    await family.locator(sel('referral-submit')).click()
    await family.locator(sel('page-referral-detail')).waitFor()
    await family.locator(sel('referral-appointment'), { hasText: '心内科专家门诊' }).waitFor()
    const referralId = family.url().split('/').pop()
    await family.locator(sel('referral-attachments')).waitFor()
    await shot(family, 'referral-booked-by-family-doctor')

    // The hospital doctor, on a phone.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN',
                                               timezoneId: 'Asia/Shanghai', isMobile: true, hasTouch: true })
    const phone = await context.newPage()
    phone.setDefaultTimeout(15_000)
    await loginOk(phone, 'doctor')
    await phone.goto(`${BASE_URL}/ui/m/referrals`)
    await phone.locator(sel('m-referral'), { hasText: '反复胸闷' }).first().click()
    await phone.locator(sel('m-action-accept')).click()
    await phone.locator(sel('m-status'), { hasText: '已预约' }).waitFor()
    await shot(phone, 'referral-mobile-accepted')
    await phone.locator(sel('m-action-arrive')).click()
    await phone.locator(sel('m-status'), { hasText: '已到诊' }).waitFor()

    // Completing with a plan is a desk job.
    await phone.goto(`${BASE_URL}/ui/referral/${referralId}`)
    await phone.setViewportSize({ width: 1280, height: 900 })
    await phone.locator(sel('referral-action-complete')).click()
    await phone.locator(`textarea${sel('referral-outcome')}, ${sel('referral-outcome')} textarea`).first().fill('冠脉 CTA 未见明显狭窄')
    await phone.locator(`textarea${sel('referral-down-plan')}, ${sel('referral-down-plan')} textarea`).first().fill('社区随访胸闷症状，一月后复查心电图')
    await phone.locator(sel('referral-complete-confirm')).click()
    await phone.locator(sel('referral-detail-status'), { hasText: '已完成' }).waitFor()

    await family.goto(`${BASE_URL}/ui/referral`)
    await family.locator(sel('referral-tabs')).getByText('下转随访任务').click()
    const task = family.locator(`${sel('followup-table')} tr`, { hasText: '复查心电图' }).first()
    await task.waitFor()
    await context.close()
    await family.context().close()
  })

  test('a signed resident seen in hospital: the family doctor sees it in the bell and the visits list', async () => {
    const patient = await signedResident()
    const marker = `突发眩晕 ${Date.now() % 100000}`
    await call('doctor', 'POST', '/fhir/Encounter', {
      resourceType: 'Encounter', status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' },
      subject: { reference: `Patient/${patient.id}` },
      period: { start: new Date().toISOString() }, reasonCode: [{ text: marker }],
    }, 'application/fhir+json')

    const family = await openPage(browser)
    await loginOk(family, 'family_doctor')
    const badge = family.locator(`${sel('notification-unread')} sup`)
    await badge.waitFor()
    assert.ok(Number((await badge.innerText()).replace('+', '')) >= 1)
    await family.locator(sel('notification-bell')).click()
    const note = family.locator(sel('notification-item'), { hasText: marker }).first()
    await note.waitFor()
    assert.match(await note.innerText(), /急诊就诊/)
    await shot(family, 'referral-bell')
    await note.click()
    await family.locator(sel('referral-visits')).waitFor()
    const row = family.locator(`${sel('visit-table')} tr`, { hasText: marker }).first()
    await row.waitFor()
    assert.match(await row.innerText(), /急诊/)
    await shot(family, 'referral-visits')

    await family.locator(sel('referral-tabs')).getByText('转诊统计').click()
    await family.locator(sel('stats-table')).waitFor()
    await family.context().close()
  })
})
