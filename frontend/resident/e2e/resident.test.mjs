// Browser test of the resident H5 (/h5/) at phone size:
//  1. a health-station device posts an urgent BP reading → the resident sees it under 提醒 and in 我的测量;
//  2. the resident asks a question → the family doctor answers in the console (居民咨询) → the resident sees the
//     answer; the doctor publishes it as an FAQ entry → the resident finds it under 常见问题;
//  3. 长辈模式 enlarges the text and stays on after a reload.
//   BASE_URL=http://127.0.0.1:8000 node --test e2e/resident.test.mjs
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BASE_URL, apiAs, demoResidentId, demoResidentIdNumber, launch, loginConsole, loginH5, openDesktop, openPhone, postReading, sel, shot,
} from './helpers.mjs'

let browser

describe('resident H5', () => {
  before(async () => {
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
  })

  test('an urgent reading shows under 提醒 and 我的测量', async () => {
    const idNumber = demoResidentIdNumber()
    // A systolic value unique to this run, so the row found on the page is this reading's.
    const systolic = 181 + Math.floor(Math.random() * 60)
    const posted = await postReading({ id_number: idNumber, kind: 'blood_pressure',
                                       measured_at: new Date().toISOString(), systolic, diastolic: 100, pulse: 90 })
    assert.equal(posted.status, 201, JSON.stringify(posted.body))
    assert.equal(posted.body.alerts, 1)

    const page = await openPhone(browser)
    await loginH5(page)
    await page.locator(sel('page-home')).waitFor()
    await page.locator(sel('my-team')).waitFor()
    // the demo resident is signed: their 1+1+1 contract (period, packages, institutions) is on 首页
    await page.locator(sel('my-contract')).waitFor()
    await shot(page, 'h5-home')

    await page.locator(sel('go-alerts')).click()
    await page.locator(sel('page-alerts')).waitFor()
    const alert = page.locator(sel('alert'), { hasText: `${systolic}/100` }).first()
    await alert.waitFor()
    assert.match(await alert.innerText(), /紧急转诊/)
    assert.match(await alert.innerText(), /待医生处理/)
    await shot(page, 'h5-alerts')

    await page.goto(`${BASE_URL}/h5/readings`)
    await page.locator(sel('page-readings')).waitFor()
    await page.locator(sel('trend-bp')).waitFor()
    const reading = page.locator(sel('reading'), { hasText: `${systolic}/100` }).first()
    await reading.waitFor()
    assert.match(await reading.innerText(), /危急值/)
    await shot(page, 'h5-readings')

    // Nothing is loaded from outside the platform (no CDN, no web fonts).
    const foreign = await page.evaluate((origin) =>
      performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(origin)), BASE_URL)
    assert.deepEqual(foreign, [])
    await page.context().close()
  })

  test('ask the team → the family doctor answers in the console → the resident reads it; FAQ', async () => {
    const marker = `E2E${Date.now().toString(36)}`
    const question = `请问${marker}：血压高的时候可以加一片降压药吗？`
    const phone = await openPhone(browser)
    await loginH5(phone)
    await phone.locator(sel('tab-ask')).click()
    await phone.locator(sel('page-ask')).waitFor()
    await phone.locator(sel('ask-category-medication')).click()
    await phone.locator(`${sel('ask-text')} textarea`).fill(question)
    await phone.locator(sel('ask-submit')).click()
    const mine = phone.locator(sel('my-question'), { hasText: marker }).first()
    await mine.waitFor()
    assert.match(await mine.innerText(), /等待回复/)

    // A too-short question is refused before it is sent.
    await phone.locator(`${sel('ask-text')} textarea`).fill('a')
    await phone.locator(sel('ask-submit')).click()
    await phone.locator(sel('ask-error')).waitFor()

    const desk = await openDesktop(browser)
    await loginConsole(desk, 'family_doctor')
    await desk.goto(`${BASE_URL}/ui/consult`)
    await desk.locator(sel('page-consult')).waitFor()
    const row = desk.locator(`${sel('consult-table')} .el-table__row`, { hasText: marker }).first()
    await row.waitFor()
    await shot(desk, 'console-consult-queue')
    await row.locator(sel('consult-reply')).click()
    const answer = `${marker} 不要自行加量，请先复测并联系我们。`
    await desk.locator(`${sel('consult-answer-input')} textarea, textarea${sel('consult-answer-input')}`).first().fill(answer)
    await desk.locator(sel('consult-answer-send')).click()
    await desk.locator(`${sel('consult-table')} .el-table__row`, { hasText: marker }).waitFor({ state: 'detached' })
    await shot(desk, 'console-consult')

    // The answer is announced by a badge on the 问医生 tab, which the 问医生 page clears.
    await phone.goto(`${BASE_URL}/h5/`)
    await phone.locator(`${sel('tab-ask')} .van-badge`, { hasText: /^[1-9]/ }).waitFor()
    await phone.locator(sel('tab-ask')).click()
    const answered = phone.locator(sel('my-question'), { hasText: marker }).first()
    await answered.locator(sel('question-answer')).waitFor()
    assert.match(await answered.innerText(), /已回复/)
    assert.match(await answered.innerText(), /不要自行加量/)
    await phone.locator(`${sel('tab-ask')} .van-badge`).waitFor({ state: 'detached' })
    await shot(phone, 'h5-ask')

    // The doctor publishes a de-personalised version; residents find it in 常见问题.
    await desk.locator(`${sel('consult-status')} label`, { hasText: '已回复' }).click()
    const done = desk.locator(`${sel('consult-table')} .el-table__row`, { hasText: marker }).first()
    await done.locator(sel('consult-faq')).click()
    await desk.locator(`${sel('consult-faq-question')} textarea, textarea${sel('consult-faq-question')}`).first()
      .fill(`${marker} 血压高时可以自行加服降压药吗？`)
    await desk.locator(sel('consult-faq-publish')).click()
    await desk.locator(`${sel('consult-table')} .el-table__row`, { hasText: marker }).first()
      .locator('.el-tag', { hasText: '常见问题' }).waitFor()

    await phone.locator(sel('tab-faq')).click()
    await phone.locator(sel('page-faq')).waitFor()
    await phone.locator(`${sel('faq-search')} input`).fill(marker)
    await phone.locator(`${sel('faq-search')} input`).press('Enter')
    const item = phone.locator(sel('faq-item'), { hasText: marker }).first()
    await item.waitFor()
    await item.locator('.van-cell').first().click()
    await item.locator('.van-collapse-item__content', { hasText: '不要自行加量' }).waitFor()
    await shot(phone, 'h5-faq')
    await desk.context().close()
    await phone.context().close()
  })

  test('用药: a long-term medicine → a repeat request (代配药) → cancelled', async () => {
    // A continuous prescription for the demo resident, written through FHIR by the district administrator.
    const medicine = `苯磺酸氨氯地平片 5mg（E2E${Date.now().toString(36)}）`
    const written = await apiAs('admin', 'POST', '/fhir/MedicationRequest', {
      resourceType: 'MedicationRequest', status: 'active', intent: 'order',
      subject: { reference: `Patient/${demoResidentId()}` },
      medicationCodeableConcept: { text: medicine },
      courseOfTherapyType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy',
                                        code: 'continuous' }] },
      authoredOn: new Date().toISOString().slice(0, 10),
      dosageInstruction: [{ text: '每日一次，每次一片，口服' }],
    })
    assert.equal(written.status, 201, JSON.stringify(written.body))

    const page = await openPhone(browser)
    await loginH5(page)
    await page.locator(sel('page-home')).waitFor()
    await page.locator(sel('go-medication')).click()
    await page.locator(sel('page-medication')).waitFor()
    const row = page.locator(sel('medication'), { hasText: medicine }).first()
    await row.waitFor()
    await row.locator(sel('refill-open')).click()
    await page.locator(sel('refill-sheet')).waitFor()
    await page.locator(`${sel('refill-sheet')} .van-radio`, { hasText: '60' }).click()
    await page.locator(sel('refill-submit')).click()
    const refill = page.locator(sel('refill'), { hasText: medicine }).first()
    await refill.waitFor()
    assert.match(await refill.innerText(), /待审核/)
    assert.match(await refill.innerText(), /60 天/)
    await shot(page, 'h5-medication')
    await refill.locator('button', { hasText: '撤销申请' }).click()
    await page.locator(sel('refill'), { hasText: medicine }).first().locator('.van-tag', { hasText: '已撤销' }).waitFor()
    await page.context().close()
  })

  test('长辈模式 enlarges the text and is remembered; English switch', async () => {
    const page = await openPhone(browser)
    await loginH5(page)
    await page.locator(sel('page-home')).waitFor()
    const title = page.locator(`${sel('my-team')} .van-cell__title`).first()
    await title.waitFor()
    const size = () => title.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    const before = await size()
    await page.locator(sel('elderly-switch')).click()
    await page.waitForFunction(() => document.documentElement.classList.contains('elderly'))
    const after = await size()
    assert.ok(after >= before + 4, `font ${before}px → ${after}px`)
    const tabHeight = await page.locator('.van-tabbar').first().evaluate((el) => el.getBoundingClientRect().height)
    assert.ok(tabHeight >= 64, `tab bar ${tabHeight}px`)
    await shot(page, 'h5-elderly')
    await page.reload()
    await page.locator(sel('page-home')).waitFor()
    assert.equal(await size(), after)
    await page.locator(sel('elderly-switch')).click()
    await page.waitForFunction(() => !document.documentElement.classList.contains('elderly'))
    assert.equal(await size(), before)

    // English, remembered too; then back to 中文 (the default).
    await page.locator(sel('language')).click()
    await page.locator(sel('tab-ask'), { hasText: 'Ask' }).waitFor()
    await page.reload()
    await page.locator(sel('go-followups'), { hasText: 'Follow-ups' }).waitFor()
    await page.locator(sel('language')).click()
    await page.locator(sel('tab-ask'), { hasText: '问医生' }).waitFor()
    await page.context().close()
  })
})
